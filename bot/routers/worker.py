"""Workers: welcome, tasks, answers, skips."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart, ExceptionTypeFilter, StateFilter
from aiogram.types import CallbackQuery, ErrorEvent, Message

from agreemint import siwe
from agreemint.domain import AnswerReceipt, WorkerView
from agreemint.services.tasks import AnswerRefused, TaskService
from bot import texts
from bot.callbacks import AnswerCb, DoneCb, NextCb, SkipCb, ToggleCb
from bot.keyboards import next_keyboard, task_keyboard
from bot.presenter import close_task, close_task_by_id, send_next, send_notes


async def start(message: Message, worker: WorkerView) -> None:
    await message.answer(texts.welcome(worker.first_name), reply_markup=next_keyboard())


async def help_(message: Message) -> None:
    await message.answer(texts.HELP, reply_markup=next_keyboard())


async def next_command(message: Message, worker: WorkerView, bot: Bot, tasks: TaskService) -> None:
    await send_next(bot, message.chat.id, worker.id, tasks)


async def next_button(
    callback: CallbackQuery, worker: WorkerView, bot: Bot, tasks: TaskService
) -> None:
    await callback.answer()
    await send_next(bot, callback.from_user.id, worker.id, tasks)


async def answer(
    callback: CallbackQuery, callback_data: AnswerCb, worker: WorkerView, bot: Bot,
    tasks: TaskService,
) -> None:
    receipt = await tasks.record_answer(
        callback.from_user.id, callback_data.assignment, callback_data.option
    )
    await _answered(callback, receipt, worker, bot, tasks)


async def toggle(callback: CallbackQuery, callback_data: ToggleCb, tasks: TaskService) -> None:
    """Multiple choice: flip one option; only the buttons change (the selection is in them)."""
    selected = callback_data.selected ^ (1 << callback_data.option)
    task = await tasks.check_selection(callback.from_user.id, callback_data.assignment, selected)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=task_keyboard(task, selected))


async def done(
    callback: CallbackQuery, callback_data: DoneCb, worker: WorkerView, bot: Bot,
    tasks: TaskService,
) -> None:
    receipt = await tasks.record_selection(
        callback.from_user.id, callback_data.assignment, callback_data.selected
    )
    await _answered(callback, receipt, worker, bot, tasks)


async def _answered(
    callback: CallbackQuery, receipt: AnswerReceipt, worker: WorkerView, bot: Bot,
    tasks: TaskService,
) -> None:
    await callback.answer(texts.SAVED.format(option=receipt.option)[:200])
    message = callback.message if isinstance(callback.message, Message) else None
    await close_task(message, receipt.task, texts.answered(receipt.task, receipt.option))
    await send_notes(bot, callback.from_user.id, receipt)
    await send_next(bot, callback.from_user.id, worker.id, tasks)


async def text_answer(
    message: Message, open_text_task: int, worker: WorkerView, bot: Bot, tasks: TaskService,
) -> None:
    """A plain message while the worker's open task is free text: that is the answer."""
    receipt = await tasks.record_text(worker.telegram_id, open_text_task, message.text or "")
    await message.answer(texts.SAVED.format(option=receipt.option), parse_mode=None)
    await close_task_by_id(bot, message.chat.id, receipt.task.message_id, receipt.task,
                           texts.answered(receipt.task, receipt.option))
    await send_notes(bot, message.chat.id, receipt)
    await send_next(bot, message.chat.id, worker.id, tasks)


async def has_open_text_task(
    message: Message, worker: WorkerView, tasks: TaskService
) -> bool | dict[str, Any]:
    """Filter: the worker's open assignment is free text (its id goes to the handler).

    Wallet pastes (an address or a signed message) never count as answers: they go on to the
    wallet router, which comes later in the dispatcher.
    """
    text = message.text or ""
    if siwe.looks_like_address(text.strip()) or siwe.looks_like_submission(text):
        return False
    assignment = await tasks.open_free_text(worker.id)
    return {"open_text_task": assignment} if assignment is not None else False


async def skip(
    callback: CallbackQuery, callback_data: SkipCb, worker: WorkerView, bot: Bot,
    tasks: TaskService,
) -> None:
    receipt = await tasks.skip(callback.from_user.id, callback_data.assignment)
    await callback.answer(texts.SKIPPED)
    message = callback.message if isinstance(callback.message, Message) else None
    await close_task(message, receipt.task, texts.skipped(receipt.task))
    await send_notes(bot, callback.from_user.id, receipt)
    await send_next(bot, callback.from_user.id, worker.id, tasks)


async def refused(event: ErrorEvent, bot: Bot) -> None:
    """An answer to a task opened before a pause or removal: say why in the chat (an alert
    would cut the reason short), and take the buttons off the task, which went back."""
    error = event.exception
    assert isinstance(error, AnswerRefused)
    callback, message = event.update.callback_query, event.update.message
    if callback is not None:
        await callback.answer(texts.NOT_SAVED)
        chat_id = callback.from_user.id
        shown = callback.message if isinstance(callback.message, Message) else None
        await close_task(shown, error.task, texts.refused_task(error.task))
    elif message is not None:
        chat_id = message.chat.id
        await close_task_by_id(bot, chat_id, error.task.message_id, error.task,
                               texts.refused_task(error.task))
    else:
        return
    await bot.send_message(chat_id, texts.refused(error.user_message),
                           reply_markup=next_keyboard())


def build() -> Router:
    """A fresh router (a router can join only one dispatcher; tests build several)."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(next_command, Command("next"))
    router.callback_query.register(next_button, NextCb.filter())
    router.callback_query.register(answer, AnswerCb.filter())
    router.callback_query.register(skip, SkipCb.filter())
    router.callback_query.register(toggle, ToggleCb.filter())
    router.callback_query.register(done, DoneCb.filter())
    # No FSM state: a manager's dialog or a wallet prompt keeps its own replies.
    router.message.register(text_answer, F.text & ~F.text.startswith("/"), StateFilter(None),
                            has_open_text_task)
    # Before the errors router's generic reply: this one needs the task and the chat.
    router.errors.register(refused, ExceptionTypeFilter(AnswerRefused))
    return router
