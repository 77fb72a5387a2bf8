"""Workers: welcome, tasks, answers, skips."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message

from agreemint.domain import WorkerView
from agreemint.services.tasks import TaskService
from bot import texts
from bot.callbacks import AnswerCb, NextCb, SkipCb
from bot.keyboards import next_keyboard
from bot.presenter import close_task, send_next


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
    await callback.answer(texts.SAVED.format(option=receipt.option))
    message = callback.message if isinstance(callback.message, Message) else None
    await close_task(message, receipt.task, texts.answered(receipt.task, receipt.option))
    await send_next(bot, callback.from_user.id, worker.id, tasks)


async def skip(
    callback: CallbackQuery, callback_data: SkipCb, worker: WorkerView, bot: Bot,
    tasks: TaskService,
) -> None:
    task = await tasks.skip(callback.from_user.id, callback_data.assignment)
    await callback.answer(texts.SKIPPED)
    message = callback.message if isinstance(callback.message, Message) else None
    await close_task(message, task, texts.skipped(task))
    await send_next(bot, callback.from_user.id, worker.id, tasks)


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
    return router
