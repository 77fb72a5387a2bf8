"""Managers: /gold <campaign id> — flagged gold keys (keep, use the crowd's label, drop) and
promotion candidates (promote). The message is edited in place after each action."""

from __future__ import annotations

import contextlib

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from agreemint.domain import WorkerView
from agreemint.services.gold_review import GoldOverview, GoldReview
from bot import gold_texts as texts
from bot.filters import IsManager
from bot.routers.manager import campaign_id, viewer_of


class GoldCb(CallbackData, prefix="gold"):
    """A tap on a gold action; ids only (`gold:fix:42:1`). `code` names the label for `fix`
    (option index, or selection mask for multiple choice)."""

    action: str  # keep | fix | drop | promote
    item: int
    code: int = 0


def _button(text: str, action: str, item: int, code: int = 0) -> InlineKeyboardButton:
    data = GoldCb(action=action, item=item, code=code).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def keyboard(o: GoldOverview) -> InlineKeyboardMarkup | None:
    rows = []
    for f in o.flagged:
        row = [_button(texts.keep_button(f), "keep", f.item_id)]
        if f.suggestion_code is not None:
            row.append(_button(texts.use_button(f), "fix", f.item_id, f.suggestion_code))
        rows.append([*row, _button(texts.drop_button(f), "drop", f.item_id)])
    rows += [[_button(texts.promote_button(c), "promote", c.item_id)] for c in o.candidates]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def gold_command(message: Message, command: CommandObject, worker: WorkerView, role: str,
                       gold_review: GoldReview) -> None:
    assert message.from_user is not None
    cid = campaign_id(command, texts.USAGE)
    o = await gold_review.overview(viewer_of(message.from_user.id, worker, role), cid)
    await message.answer(texts.overview(o), reply_markup=keyboard(o))


async def gold_button(callback: CallbackQuery, callback_data: GoldCb, worker: WorkerView,
                      role: str, gold_review: GoldReview) -> None:
    """Act, then redraw the message. A refused action (someone else's campaign, an item that
    changed meanwhile) raises before anything changes; the error router answers with why."""
    viewer, item = viewer_of(callback.from_user.id, worker, role), callback_data.item
    if callback_data.action == "keep":
        cid, toast = await gold_review.keep_key(item, viewer), texts.kept(item)
    elif callback_data.action == "fix":
        cid = await gold_review.fix_key_code(item, callback_data.code, viewer)
        toast = texts.fixed(item)
    elif callback_data.action == "drop":
        cid, toast = await gold_review.drop_gold(item, viewer), texts.dropped(item)
    elif callback_data.action == "promote":
        cid, toast = await gold_review.promote(item, viewer), texts.promoted(item)
    else:  # forged or from a future version: change nothing
        await callback.answer(texts.UNKNOWN_ACTION, show_alert=True)
        return
    o = await gold_review.overview(viewer, cid)
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # unchanged, or too old to edit
            await callback.message.edit_text(texts.overview(o), reply_markup=keyboard(o))
    await callback.answer(toast)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    router.message.register(gold_command, Command("gold"))
    router.callback_query.register(gold_button, GoldCb.filter())
    return router
