"""Inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from agreemint.domain import TaskView
from bot import texts
from bot.callbacks import AnswerCb, NextCb, SkipCb

SHORT_LABEL = 14


def task_keyboard(task: TaskView) -> InlineKeyboardMarkup:
    """One button per label (two to a row when labels are short), then Skip on its own row."""
    buttons = [
        InlineKeyboardButton(
            text=option,
            callback_data=AnswerCb(assignment=task.assignment_id, option=index).pack(),
        )
        for index, option in enumerate(task.options)
    ]
    per_row = 2 if all(len(o) <= SHORT_LABEL for o in task.options) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    skip = SkipCb(assignment=task.assignment_id).pack()
    rows.append([InlineKeyboardButton(text=texts.SKIP, callback_data=skip)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def next_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=texts.NEXT_TASK,
                                               callback_data=NextCb().pack())]]
    )
