"""Funding a draft from chat: /fund <id>, the "Check funding" button, and the funding that
follows Confirm. The button shares the dialog's callback data (NewCb), so manager_create.build
registers these handlers, the button's before the dialog's catch-all for stale buttons.
"""

from __future__ import annotations

import logging
from html import escape

from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from agreemint.domain import WorkerView
from agreemint.errors import AgreemintError
from agreemint.services.funding import FundingService, FundingState, FundingView, NoChain
from agreemint.services.roles import ADMIN
from bot import create_texts as t
from bot.routers.manager_create_steps import NewCb, inline_keyboard, reply

log = logging.getLogger(__name__)


def _check_kb(campaign_id: int) -> InlineKeyboardMarkup:
    return inline_keyboard(("Check funding", NewCb(action="check", value=str(campaign_id))))


async def fund_command(
    message: Message, command: CommandObject, worker: WorkerView, role: str,
    funding: FundingService | None = None,
) -> None:
    arg = (command.args or "").strip().lstrip("#")
    if not arg.isdigit():
        await message.answer(t.FUND_USAGE)
        return
    await fund(message, worker, role, funding, int(arg))


async def check_funding(
    callback: CallbackQuery, callback_data: NewCb, worker: WorkerView, role: str,
    funding: FundingService | None = None,
) -> None:
    if funding is None:
        raise NoChain()
    view = await funding.check(int(callback_data.value), actor_id=worker.id, admin=role == ADMIN)
    await callback.answer()
    await _show_funding(callback, view, funding)


async def fund(
    event: Message | CallbackQuery, worker: WorkerView, role: str,
    funding: FundingService | None, campaign_id: int,
) -> None:
    """Fund and show the result as a message (a callback's alert is already spent)."""
    try:
        if funding is None:
            raise NoChain()
        view = await funding.fund(campaign_id, actor_id=worker.id, admin=role == ADMIN)
    except AgreemintError as exc:
        await reply(event, escape(exc.user_message), keyboard=None)
        return
    except Exception:  # chain trouble: the draft stays a draft; /fund retries safely
        log.exception("funding campaign %s failed", campaign_id)
        await reply(event, t.FUNDING_FAILED.format(id=campaign_id), keyboard=None)
        return
    await _show_funding(event, view, funding)


async def _show_funding(
    event: Message | CallbackQuery, view: FundingView, funding: FundingService
) -> None:
    waiting = view.state == FundingState.AWAITING_DEPOSIT
    await reply(event, t.funding(view, funding.symbol),
                keyboard=_check_kb(view.campaign_id) if waiting else None)
