"""Workers: /appeal — contest a withheld reward."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from agreemint.domain import WorkerView
from agreemint.services.appeals import Appealable, AppealService
from bot import appeal_texts
from bot.callbacks import AppealCb


async def show(message: Message, worker: WorkerView, appeals: AppealService) -> None:
    candidates = await appeals.appealable(worker.id)
    text = appeal_texts.overview(candidates, await appeals.mine(worker.id),
                                 appeals.window_hours)
    await message.answer(text, reply_markup=_keyboard(candidates))


async def file(
    callback: CallbackQuery, callback_data: AppealCb, worker: WorkerView, appeals: AppealService
) -> None:
    appeal = await appeals.file(worker.id, callback_data.entry)
    await callback.answer(f"Appeal #{appeal.id} filed")
    if isinstance(callback.message, Message):
        await callback.message.edit_text(appeal_texts.filed(appeal), reply_markup=None)


def _keyboard(candidates: list[Appealable]) -> InlineKeyboardMarkup | None:
    if not candidates:
        return None
    builder = InlineKeyboardBuilder()
    for n, c in enumerate(candidates, 1):
        builder.button(text=f"Appeal {n}", callback_data=AppealCb(entry=c.entry_id))
    builder.adjust(3)
    return builder.as_markup()


def build() -> Router:
    """A fresh router for one dispatcher."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(show, Command("appeal"))
    router.callback_query.register(file, AppealCb.filter())
    return router
