"""Managers: campaign list, the campaign card with charts, pause, resume, close, extend."""

from __future__ import annotations

import asyncio
import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from agreemint import charts
from agreemint.domain import CampaignStatus, WorkerView
from agreemint.errors import InvalidInput
from agreemint.services.campaign_control import CampaignCard, CampaignControl, Viewer
from agreemint.services.roles import ADMIN
from bot import manager_texts as texts
from bot.filters import IsManager


class MgrCb(CallbackData, prefix="mgr"):
    """A tap on a campaign button; ids only (`mgr:pause:12`)."""

    action: str
    campaign: int


def _button(text: str, action: str, campaign: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=MgrCb(action=action,
                                                               campaign=campaign).pack())


def card_keyboard(card: CampaignCard) -> InlineKeyboardMarkup:
    cid = card.id
    rows = []
    if card.status != CampaignStatus.CLOSED:
        toggle = (_button(texts.RESUME, "resume", cid) if card.status == CampaignStatus.PAUSED
                  else _button(texts.PAUSE, "pause", cid))
        rows.append([toggle, _button(texts.EXTEND, "extend", cid), _button(texts.CLOSE,
                                                                          "close", cid)])
    rows.append([_button(texts.REFRESH, "refresh", cid)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def confirm_keyboard(campaign: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button(texts.YES_CLOSE, "closeok", campaign), _button(texts.CANCEL, "cancel", campaign),
    ]])


def viewer_of(user_id: int, worker: WorkerView, role: str) -> Viewer:
    return Viewer(user_id, worker.id, admin=role == ADMIN)


def campaign_id(command: CommandObject, usage: str) -> int:
    words = (command.args or "").split()
    if not words or not words[0].lstrip("#").isdigit():
        raise InvalidInput(usage.format(command=command.command))
    return int(words[0].lstrip("#"))


async def send_card(bot: Bot, chat_id: int, viewer: Viewer, control: CampaignControl,
                    cid: int) -> None:
    """A photo of the charts with the figures as its caption and the controls under it."""
    card = await control.card(viewer, cid)
    data = await control.chart_data(viewer, cid)
    # Rendering takes a few hundred milliseconds of CPU: keep the event loop serving others.
    png = await asyncio.to_thread(charts.card_png, data, f"#{card.id} {card.name[:60]}")
    await bot.send_photo(
        chat_id, BufferedInputFile(png, f"campaign-{card.id}.png"),
        caption=texts.card(card, control.symbol), reply_markup=card_keyboard(card),
    )


async def show_figures(callback: CallbackQuery, viewer: Viewer, control: CampaignControl,
                       cid: int) -> None:
    """Update the card's caption and buttons in place (the chart changes only on Refresh)."""
    card = await control.card(viewer, cid)
    if isinstance(callback.message, Message):
        # Telegram refuses an edit that changes nothing; the card is already current then.
        with contextlib.suppress(TelegramBadRequest):
            await callback.message.edit_caption(caption=texts.card(card, control.symbol),
                                                reply_markup=card_keyboard(card))


# -------------------------------------------------------------- commands


async def list_campaigns(message: Message, worker: WorkerView, role: str,
                         campaign_control: CampaignControl) -> None:
    assert message.from_user is not None
    lines = await campaign_control.list_for(viewer_of(message.from_user.id, worker, role))
    if not lines:
        await message.answer(texts.NO_CAMPAIGNS)
        return
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [_button(texts.list_button(line), "open", line.id)] for line in lines])
    await message.answer(texts.campaign_list(lines, role == ADMIN), reply_markup=keyboard)


async def open_command(message: Message, command: CommandObject, worker: WorkerView, role: str,
                       bot: Bot, campaign_control: CampaignControl) -> None:
    assert message.from_user is not None
    cid = campaign_id(command, texts.CAMPAIGN_USAGE)
    viewer = viewer_of(message.from_user.id, worker, role)
    await send_card(bot, message.chat.id, viewer, campaign_control, cid)


async def control_command(message: Message, command: CommandObject, worker: WorkerView,
                          role: str, campaign_control: CampaignControl) -> None:
    """/pause, /resume, /close, /extend <id> [days]: the same as the card's buttons."""
    assert message.from_user is not None
    usage = texts.EXTEND_USAGE if command.command == "extend" else texts.CONTROL_USAGE
    cid = campaign_id(command, usage)
    viewer, control = viewer_of(message.from_user.id, worker, role), campaign_control
    if command.command == "pause":
        await control.pause(viewer, cid)
        reply = texts.paused(cid)
    elif command.command == "resume":
        await control.resume(viewer, cid)
        reply = texts.resumed(cid)
    elif command.command == "close":
        reply = texts.closed(cid, await control.close(viewer, cid), control.symbol)
    else:
        words = (command.args or "").split()
        if len(words) > 1 and not words[1].isdigit():
            raise InvalidInput(texts.EXTEND_USAGE)
        days = int(words[1]) if len(words) > 1 else 7
        reply = texts.extended(cid, await control.extend_by(viewer, cid, days))
    await message.answer(reply)


# -------------------------------------------------------------- buttons


async def open_button(callback: CallbackQuery, callback_data: MgrCb, worker: WorkerView,
                      role: str, bot: Bot, campaign_control: CampaignControl) -> None:
    await callback.answer()
    viewer = viewer_of(callback.from_user.id, worker, role)
    await send_card(bot, callback.from_user.id, viewer, campaign_control, callback_data.campaign)


async def refresh_button(callback: CallbackQuery, callback_data: MgrCb, worker: WorkerView,
                         role: str, bot: Bot, campaign_control: CampaignControl) -> None:
    """A fresh chart needs a new photo (no media edits): send it, then drop the old card."""
    viewer = viewer_of(callback.from_user.id, worker, role)
    await send_card(bot, callback.from_user.id, viewer, campaign_control, callback_data.campaign)
    await callback.answer()
    if isinstance(callback.message, Message):
        with contextlib.suppress(TelegramBadRequest):  # too old to delete: leave it
            await callback.message.delete()


async def action_button(callback: CallbackQuery, callback_data: MgrCb, worker: WorkerView,
                        role: str, campaign_control: CampaignControl) -> None:
    viewer, control = viewer_of(callback.from_user.id, worker, role), campaign_control
    cid, action = callback_data.campaign, callback_data.action
    if action == "pause":
        await control.pause(viewer, cid)
        toast = texts.paused(cid)
    elif action == "resume":
        await control.resume(viewer, cid)
        toast = texts.resumed(cid)
    elif action == "extend":
        toast = texts.extended(cid, await control.extend_by(viewer, cid, 7))
    elif action == "closeok":
        toast = texts.closed(cid, await control.close(viewer, cid), control.symbol)
    else:  # cancel: back to the card's own buttons
        toast = ""
    await show_figures(callback, viewer, control, cid)
    await callback.answer(toast[:200] or None)


async def close_button(callback: CallbackQuery, callback_data: MgrCb, worker: WorkerView,
                       role: str, campaign_control: CampaignControl) -> None:
    """Closing cannot be undone: ask first (the check that the campaign is yours comes too)."""
    await campaign_control.card(viewer_of(callback.from_user.id, worker, role),
                                callback_data.campaign)
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=confirm_keyboard(callback_data.campaign))
    await callback.answer(texts.CONFIRM_CLOSE)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    router.message.register(list_campaigns, Command("campaigns"))
    router.message.register(open_command, Command("campaign"))
    router.message.register(control_command, Command("pause", "resume", "close", "extend"))
    router.callback_query.register(open_button, MgrCb.filter(F.action == "open"))
    router.callback_query.register(refresh_button, MgrCb.filter(F.action == "refresh"))
    router.callback_query.register(close_button, MgrCb.filter(F.action == "close"))
    router.callback_query.register(action_button, MgrCb.filter(
        F.action.in_({"pause", "resume", "extend", "closeok", "cancel"})))
    return router
