"""A campaign's label as an int, and back: callback data carries ids only, never label text."""

from __future__ import annotations

from agreemint.domain import SEPARATOR, TaskType, join_selection
from agreemint.store.models import Campaign


def label_code(campaign: Campaign, label: str) -> int | None:
    """How a button names `label` with an int (ids only in callback data)."""
    options = list(campaign.label_options)
    if campaign.task_type == TaskType.MULTIPLE_CHOICE:
        parts = label.split(SEPARATOR)
        if all(p in options for p in parts):
            return sum(1 << options.index(p) for p in parts)
        return None
    if campaign.task_type == TaskType.FREE_TEXT or label not in options:
        return None
    return options.index(label)


def label_from_code(campaign: Campaign, code: int) -> str | None:
    options = list(campaign.label_options)
    if campaign.task_type == TaskType.MULTIPLE_CHOICE:
        return join_selection(options, code) if 0 < code < 1 << len(options) else None
    if campaign.task_type == TaskType.FREE_TEXT or not 0 <= code < len(options):
        return None
    return options[code]
