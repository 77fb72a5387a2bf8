"""The new-campaign dialog's shape: its states, button data, text steps and keyboards, how it
answers, and the draft its state data describes.

State data holds plain JSON values, because the FSM storage is the database
(agreemint/store/fsm.py): a dialog survives a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from agreemint.domain import TaskType
from agreemint.multiplier import QualityCurve
from agreemint.services.funding import FundingService, campaign_budget
from bot import create_texts as t


class NewCampaign(StatesGroup):
    name = State()
    instructions = State()
    task_type = State()
    labels = State()
    overlap = State()
    confidence = State()
    gold = State()
    rate = State()
    deadline = State()
    items = State()
    confirm = State()


class NewCb(CallbackData, prefix="mnew"):
    """Dialog buttons: cancel, type (value = task type), confirm, check (value = campaign id)."""

    action: str
    value: str = ""


# state -> (key in the state data, parser, next state, its prompt)
Step = tuple[str, Callable[[str], Any], State, str]
TEXT_STEPS: dict[str | None, Step] = {
    NewCampaign.name.state: ("name", t.name, NewCampaign.instructions, t.ASK_INSTRUCTIONS),
    NewCampaign.instructions.state: ("instructions", t.instructions, NewCampaign.task_type,
                                     t.ASK_TYPE),
    NewCampaign.labels.state: ("labels", t.labels, NewCampaign.overlap, t.ASK_OVERLAP),
    NewCampaign.overlap.state: ("overlap", t.overlap, NewCampaign.confidence, t.ASK_CONFIDENCE),
    NewCampaign.confidence.state: (
        "target", lambda s: t.share(s, 0.5, 0.99, t.BAD_CONFIDENCE), NewCampaign.gold, t.ASK_GOLD),
    NewCampaign.gold.state: (
        "gold", lambda s: t.share(s, 0.0, 0.5, t.BAD_GOLD), NewCampaign.rate, t.ASK_RATE),
    NewCampaign.rate.state: ("rate_micro", t.rate, NewCampaign.deadline, t.ASK_DEADLINE),
    NewCampaign.deadline.state: ("deadline", t.deadline, NewCampaign.items, t.ASK_ITEMS),
}


# ------------------------------------------------------------------ keyboards


def inline_keyboard(*buttons: tuple[str, NewCb]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for text, data in buttons:
        kb.button(text=text, callback_data=data)
    kb.adjust(2)
    return kb.as_markup()


CANCEL = ("Cancel", NewCb(action="cancel"))
CANCEL_KB = inline_keyboard(CANCEL)
TYPE_KB = inline_keyboard(
    ("Single choice", NewCb(action="type", value=TaskType.SINGLE_CHOICE)),
    ("Yes / no", NewCb(action="type", value=TaskType.YES_NO)),
    ("Multiple choice", NewCb(action="type", value=TaskType.MULTIPLE_CHOICE)),
    ("Free text", NewCb(action="type", value=TaskType.FREE_TEXT)), CANCEL)
CONFIRM_KB = inline_keyboard(("Confirm", NewCb(action="confirm")), CANCEL)


# ------------------------------------------------------------------ helpers


async def reply(
    event: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = CANCEL_KB,
) -> None:
    message = event if isinstance(event, Message) else event.message
    if isinstance(message, Message):
        await message.answer(text, reply_markup=keyboard)


def draft(data: dict[str, Any], funding: FundingService | None) -> t.Draft:
    low, high = data["overlap"]
    budget = (funding.budget(data["items"], high, data["rate_micro"]) if funding else
              campaign_budget(data["items"], high, data["rate_micro"],
                              QualityCurve().max_multiplier))
    deadline = datetime.fromisoformat(data["deadline"]) if data.get("deadline") else None
    return t.Draft(
        name=data["name"], instructions=data["instructions"], task_type=data["task_type"],
        labels=tuple(data["labels"]), overlap=low, max_overlap=high, target=data["target"],
        gold=data["gold"], rate_micro=data["rate_micro"], deadline=deadline, items=data["items"],
        gold_items=data["gold_items"], budget_wei=budget,
    )
