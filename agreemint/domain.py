"""Values passed between layers: enums and small frozen dataclasses (no ORM objects leak out)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class TaskType(enum.StrEnum):
    """How a worker answers an item."""

    SINGLE_CHOICE = "single_choice"
    YES_NO = "yes_no"
    MULTIPLE_CHOICE = "multiple_choice"
    FREE_TEXT = "free_text"


# Multiple choice: one answer per task whose label is the selected options in the campaign's
# order joined by SEPARATOR (labels may not contain it), e.g. "cat + dog".
SEPARATOR = " + "
MAX_SELECTION_OPTIONS = 10  # a bitmask of option indexes travels in callback data
# Free text: an answer is stored normalized (see normalize_text); Answer.label is String(200).
MAX_LABEL_CHARS = 200


def normalize_text(text: str) -> str:
    """A free-text answer as compared and stored: case-folded, whitespace collapsed."""
    return " ".join(text.split()).casefold()


def join_selection(options: tuple[str, ...] | list[str], mask: int) -> str:
    """The canonical label of a multiple-choice selection (bit i set = options[i] chosen)."""
    return SEPARATOR.join(o for i, o in enumerate(options) if mask >> i & 1)


def canonical_label(task_type: str, options: tuple[str, ...], label: str) -> str | None:
    """`label` (e.g. a gold label from a file) in the form answers are stored in; None when it
    is not a possible answer of this task type."""
    if task_type == TaskType.FREE_TEXT:
        text = normalize_text(label)
        return text if 0 < len(text) <= MAX_LABEL_CHARS else None
    if task_type == TaskType.MULTIPLE_CHOICE:
        parts = [p.strip() for p in label.split(SEPARATOR.strip())]
        if not parts or any(p not in options for p in parts) or len(set(parts)) != len(parts):
            return None
        return join_selection(options, sum(1 << options.index(p) for p in parts))
    return label if label in options else None


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
    task_type: TaskType = TaskType.SINGLE_CHOICE
    # "Training question 2 of 4" while a newcomer qualifies; None for paid tasks. A blind
    # re-review for an appeal looks exactly like a paid task.
    training: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerReceipt:
    """What was recorded for a tap, with the task so the chat can show the choice on it."""

    option: str
    task: TaskView
    # Said to the worker right after the answer: training feedback, rules that fired.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoundSummary:
    """What one consensus round decided for one campaign."""

    campaign_id: int
    round_id: int
    items_resolved: int
    answers_used: int
    mean_confidence: float
