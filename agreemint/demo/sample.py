"""The bundled sample campaign: short product reviews with known sentiment."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from agreemint.domain import ItemKind
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec

DATA = Path(__file__).parent / "data" / "reviews.csv"
LABELS = ("positive", "negative", "neutral")


@dataclass(frozen=True, slots=True)
class Sample:
    spec: CampaignSpec
    items: list[ItemSpec]
    truth: dict[str, str]  # item text -> true label


def load_sample(limit: int, overlap: int, max_overlap: int | None = None) -> Sample:
    """The first `limit` reviews (gold questions among them keep their gold label)."""
    with DATA.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:limit]
    items = [
        ItemSpec(r["id"], ItemKind.TEXT, r["text"], None, r["gold"] or None) for r in rows
    ]
    spec = CampaignSpec(
        name="Review sentiment",
        instructions="Is this product review positive, negative or neutral (just facts)?",
        options=LABELS,
        overlap=overlap,
        max_overlap=max_overlap,
        target_confidence=0.95,
        reward_rate_micro=100_000,
    )
    return Sample(spec, items, {r["text"]: r["truth"] for r in rows})
