"""What a manager is shown about a campaign's gold: flagged keys and promotion candidates."""

from __future__ import annotations

from dataclasses import dataclass

from agreemint.store.models import Item

PREVIEW_CHARS = 60


@dataclass(frozen=True, slots=True)
class FlaggedGold:
    item_id: int
    preview: str  # the item's text (or external id), shortened
    key: str
    evidence: str
    # The label most good workers gave instead, and its code for a button (option index, or
    # selection mask for multiple choice; None for free text or when no longer known).
    suggestion: str | None
    suggestion_code: int | None


@dataclass(frozen=True, slots=True)
class Candidate:
    item_id: int
    preview: str
    label: str
    confidence: float
    answers: int


@dataclass(frozen=True, slots=True)
class GoldOverview:
    campaign_id: int
    flagged: list[FlaggedGold]
    candidates: list[Candidate]


def preview(item: Item) -> str:
    text = " ".join((item.text or item.external_id).split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
