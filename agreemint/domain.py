"""Values passed between layers: enums and small frozen dataclasses (no ORM objects leak out)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class TaskType(enum.StrEnum):
    """How a worker answers an item."""

    SINGLE_CHOICE = "single_choice"
    YES_NO = "yes_no"


class CampaignStatus(enum.StrEnum):
    """Life cycle of a campaign; only active campaigns hand out tasks."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class ItemKind(enum.StrEnum):
    """What the worker is shown."""

    TEXT = "text"
    PHOTO = "photo"


class AssignmentStatus(enum.StrEnum):
    """An assignment holds one of an item's overlap slots until it is answered or released."""

    ISSUED = "issued"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class WorkerStatus(enum.StrEnum):
    """Whether the bot can and may send this worker tasks."""

    ACTIVE = "active"
    UNREACHABLE = "unreachable"
    BANNED = "banned"


@dataclass(frozen=True, slots=True)
class WorkerView:
    """A worker as the bot knows them."""

    id: int
    telegram_id: int
    first_name: str
    username: str | None
    is_new: bool = False
    role: str = "worker"  # as stored; RoleService.effective adds the operator-configured ids


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task to show: everything the chat needs and nothing that reveals gold."""

    assignment_id: int
    campaign_name: str
    instructions: str
    kind: ItemKind
    text: str | None
    photo: str | None
    photo_file_id: str | None
    options: tuple[str, ...]
    expires_at: datetime
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerReceipt:
    """What was recorded for a tap, with the task so the chat can show the choice on it."""

    option: str
    task: TaskView


@dataclass(frozen=True, slots=True)
class RoundSummary:
    """What one consensus round decided for one campaign."""

    campaign_id: int
    round_id: int
    items_resolved: int
    answers_used: int
    mean_confidence: float
