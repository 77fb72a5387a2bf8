"""Showing tasks in a chat: send them, and later mark them answered."""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import FSInputFile, Message

from agreemint.domain import AnswerReceipt, ItemKind, TaskView
from agreemint.services.tasks import TaskService
from bot import texts
from bot.keyboards import next_keyboard, task_keyboard

log = logging.getLogger(__name__)


async def send_next(bot: Bot, chat_id: int, worker_id: int, tasks: TaskService) -> None:
    """Send the worker's next task, or say that nothing is left."""
    task = await tasks.next_task(worker_id)
    if task is None:
        reasons = await tasks.why_nothing(worker_id)
        await bot.send_message(chat_id, texts.nothing_left(reasons), reply_markup=next_keyboard())
        return
    message = await _send_task(bot, chat_id, task)
    file_id = message.photo[-1].file_id if message.photo else None
    await tasks.shown(task.assignment_id, message.message_id, file_id)


async def send_notes(bot: Bot, chat_id: int, receipt: AnswerReceipt) -> None:
    """What an answer or skip triggered (training feedback, a rule), before the next task."""
    if receipt.notes:
        await bot.send_message(chat_id, "\n\n".join(escape(n) for n in receipt.notes))


async def _send_task(bot: Bot, chat_id: int, task: TaskView) -> Message:
    markup = task_keyboard(task)
    body = texts.task_body(task)
    if task.kind is ItemKind.PHOTO and task.photo:
        caption = texts.fit(body, texts.CAPTION_LIMIT)
        return await bot.send_photo(chat_id, _photo(task), caption=caption, reply_markup=markup)
    return await bot.send_message(chat_id, body, reply_markup=markup)


def _photo(task: TaskView) -> str | FSInputFile:
    # Upload once; afterwards Telegram's file id is reused for every worker.
    if task.photo_file_id:
        return task.photo_file_id
    source = task.photo or ""
    if source.startswith(("http://", "https://")):
        return source  # Telegram fetches URLs itself
    return FSInputFile(Path(source))


async def close_task(message: Message | None, task: TaskView, text: str) -> None:
    """Replace the task's buttons with what happened to it."""
    if message is None:
        return
    await close_task_by_id(message.bot, message.chat.id, message.message_id, task, text)


async def close_task_by_id(
    bot: Bot | None, chat_id: int, message_id: int | None, task: TaskView, text: str
) -> None:
    """`close_task` for a task answered by a reply (a free-text answer), not by its buttons."""
    if bot is None or message_id is None:
        return
    try:
        if task.kind is ItemKind.PHOTO:
            await bot.edit_message_caption(chat_id=chat_id, message_id=message_id,
                                           caption=texts.fit(text, texts.CAPTION_LIMIT),
                                           reply_markup=None)
        else:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                        reply_markup=None)
    except TelegramBadRequest as exc:
        # Too old to edit or already edited by a duplicate tap: the answer itself is stored.
        log.info("could not edit task message: %s", exc.message)
