"""Managers: /review lists open review cases (suspected collusion) with Release · Confirm ·
Keep holding under each; the case's message is edited with the outcome.

Foreign, unknown and already decided cases are refused by the service (NotFound, CaseDecided)
and answered as an alert by the error router; nothing changes then.
"""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from agreemint.domain import WorkerView
from agreemint.services.review import CaseView, ReviewService
from bot import review_texts as texts
from bot.filters import IsManager
from bot.routers.manager import viewer_of

MAX_LISTED = 10  # case messages per /review; the oldest first


class ReviewCb(CallbackData, prefix="rev"):
    """A tap under a case (`rev:rel:12`): rel | cf (ask) | cfy (confirmed) | keep | back."""

    action: str
    case: int


def _button(text: str, action: str, case: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text,
                                callback_data=ReviewCb(action=action, case=case).pack())


def case_keyboard(case: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button(texts.RELEASE, "rel", case), _button(texts.CONFIRM, "cf", case),
        _button(texts.KEEP, "keep", case),
    ]])


def confirm_keyboard(case: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button(texts.YES_CONFIRM, "cfy", case), _button(texts.BACK, "back", case),
    ]])


async def list_cases(message: Message, worker: WorkerView, role: str,
                     review: ReviewService) -> None:
    assert message.from_user is not None
    viewer = viewer_of(message.from_user.id, worker, role)
    cases = await review.open_cases(viewer, limit=MAX_LISTED + 1)
    if not cases:
        await message.answer(texts.NO_CASES)
        return
    for view in cases[:MAX_LISTED]:
        await message.answer(texts.case_text(view, review.symbol),
                             reply_markup=case_keyboard(view.id))
    if len(cases) > MAX_LISTED:
        await message.answer(texts.MORE_CASES.format(shown=MAX_LISTED))


async def _show(callback: CallbackQuery, view: CaseView, symbol: str,
                keyboard: InlineKeyboardMarkup | None) -> None:
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # unchanged, or too old to edit
            await callback.message.edit_text(texts.case_text(view, symbol),
                                             reply_markup=keyboard)


async def decide_button(callback: CallbackQuery, callback_data: ReviewCb, worker: WorkerView,
                        role: str, review: ReviewService) -> None:
    """Release, confirm (after the ask) or keep; the service refuses foreign/decided cases."""
    viewer = viewer_of(callback.from_user.id, worker, role)
    case = callback_data.case
    if callback_data.action == "rel":
        view = await review.release(case, viewer)
    elif callback_data.action == "cfy":
        view = await review.confirm(case, viewer)
    else:
        view = await review.keep(case, viewer)
    keyboard = case_keyboard(case) if view.status == "open" else None
    await _show(callback, view, review.symbol, keyboard)
    await callback.answer(texts.KEPT if view.status == "open" else texts.decided_toast(view))


async def ask_button(callback: CallbackQuery, callback_data: ReviewCb, worker: WorkerView,
                     role: str, review: ReviewService) -> None:
    """Confirming removes people from a campaign: ask first (or go back to the case)."""
    viewer = viewer_of(callback.from_user.id, worker, role)
    view = await review.undecided(callback_data.case, viewer)
    asking = callback_data.action == "cf"
    keyboard = confirm_keyboard(view.id) if asking else case_keyboard(view.id)
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=keyboard)
    await callback.answer(texts.ASK_CONFIRM if asking else None)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    router.message.register(list_cases, Command("review"))
    router.callback_query.register(decide_button,
                                   ReviewCb.filter(F.action.in_({"rel", "cfy", "keep"})))
    router.callback_query.register(ask_button, ReviewCb.filter(F.action.in_({"cf", "back"})))
    return router
