"""Workers: /balance and /history."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message

from agreemint.domain import WorkerView
from agreemint.services.balance import BalanceService
from bot import account_texts


async def show_balance(message: Message, worker: WorkerView, balance: BalanceService) -> None:
    await message.answer(account_texts.balance(await balance.balance(worker.id), balance.symbol))


async def show_history(message: Message, worker: WorkerView, balance: BalanceService) -> None:
    rows = await balance.history(worker.id)
    await message.answer(account_texts.history(rows, balance.symbol))


def build() -> Router:
    """A fresh router for one dispatcher."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(show_balance, Command("balance"))
    router.message.register(show_history, Command("history"))
    return router
