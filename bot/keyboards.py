"""Inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from agreemint.domain import TaskType, TaskView
from bot import texts
from bot.callbacks import AnswerCb, DoneCb, NextCb, SkipCb, ToggleCb

SHORT_LABEL = 14


def task_keyboard(task: TaskView, selected: int = 0) -> InlineKeyboardMarkup:
    """One button per label (two to a row when labels are short), then Skip on its own row.

    Multiple choice: the labels toggle (✓ marks the selected ones; `selected` is the bitmask
    of option indexes) and Done sits next to Skip. Free text: Skip only (the answer is a reply).
    """
    multiple = task.task_type is TaskType.MULTIPLE_CHOICE
    buttons = [
        InlineKeyboardButton(
            text=(texts.SELECTED_MARK + option if selected >> index & 1 else option),
            callback_data=(
                ToggleCb(assignment=task.assignment_id, option=index, selected=selected)
                if multiple else AnswerCb(assignment=task.assignment_id, option=index)
            ).pack(),
        )
        for index, option in enumerate(task.options)
    ]
    if task.task_type is TaskType.FREE_TEXT:
        buttons = []
    per_row = 2 if all(len(o) <= SHORT_LABEL for o in task.options) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    skip = SkipCb(assignment=task.assignment_id).pack()
    last = [InlineKeyboardButton(text=texts.SKIP, callback_data=skip)]
    if multiple:
        done = DoneCb(assignment=task.assignment_id, selected=selected).pack()
        last.insert(0, InlineKeyboardButton(text=texts.DONE, callback_data=done))
    rows.append(last)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def next_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=texts.NEXT_TASK,
                                               callback_data=NextCb().pack())]]
    )
