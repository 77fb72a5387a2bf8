"""Managers: creating a campaign in chat, step by step, and funding it.

One FSM state per step. A bad answer gets a reply saying what is expected and keeps the step;
/cancel or the Cancel button ends the dialog at any step and nothing is stored. The campaign is
written only on Confirm, as a draft, and funding (FundingService) is what starts it. State data
holds plain JSON values (the items file is kept on disk and parsed again on Confirm), because
the FSM storage is the database (agreemint/store/fsm.py): a dialog survives a restart.

This module holds the dialog's handlers and the router; the dialog's states, buttons and draft
are in manager_create_steps.py, the items step in manager_create_file.py and funding in
manager_create_funding.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from agreemint.domain import TaskType, WorkerView
from agreemint.services.campaigns import CampaignService, CampaignSpec
from agreemint.services.funding import FundingService
from bot import create_texts as t
from bot.filters import IsManager
from bot.routers.manager_create_file import forget_file, items_file, not_a_file, parse_file
from bot.routers.manager_create_funding import check_funding, fund, fund_command
from bot.routers.manager_create_steps import (
    CANCEL_KB,
    CONFIRM_KB,
    TEXT_STEPS,
    TYPE_KB,
    NewCampaign,
    NewCb,
    draft,
    reply,
)


async def new_campaign(message: Message, state: FSMContext) -> None:
    await forget_file(state)  # a second /newcampaign starts over
    await state.clear()
    await state.set_state(NewCampaign.name)
    await message.answer(t.ASK_NAME, reply_markup=CANCEL_KB)


async def text_step(message: Message, state: FSMContext) -> None:
    key, parse, next_state, prompt = TEXT_STEPS[await state.get_state()]
    if key == "labels" and (await state.get_data()).get("task_type") == TaskType.MULTIPLE_CHOICE:
        parse = t.multiple_labels
    try:
        value = parse((message.text or "").strip())
    except ValueError as exc:
        await message.answer(str(exc), reply_markup=CANCEL_KB)  # same step
        return
    await state.update_data({key: value})
    await state.set_state(next_state)
    await message.answer(prompt, reply_markup=TYPE_KB if next_state == NewCampaign.task_type
                         else CANCEL_KB)


async def not_text(message: Message) -> None:
    await message.answer(t.SEND_TEXT, reply_markup=CANCEL_KB)


async def type_chosen(callback: CallbackQuery, callback_data: NewCb, state: FSMContext) -> None:
    await callback.answer()
    if callback_data.value in (TaskType.YES_NO, TaskType.FREE_TEXT):
        # Yes/no has its labels and free text has none; skip the labels step.
        labels = ["yes", "no"] if callback_data.value == TaskType.YES_NO else []
        await state.update_data(task_type=callback_data.value, labels=labels)
        await state.set_state(NewCampaign.overlap)
        await reply(callback, t.ASK_OVERLAP)
    else:
        multiple = callback_data.value == TaskType.MULTIPLE_CHOICE
        await state.update_data(
            task_type=TaskType.MULTIPLE_CHOICE if multiple else TaskType.SINGLE_CHOICE)
        await state.set_state(NewCampaign.labels)
        await reply(callback, t.ASK_LABELS)


async def type_typed(message: Message) -> None:
    await message.answer(t.USE_TYPE_BUTTONS, reply_markup=TYPE_KB)


async def confirm(
    callback: CallbackQuery, state: FSMContext, worker: WorkerView, campaigns: CampaignService,
    role: str, funding: FundingService | None = None,
) -> None:
    data = await state.get_data()
    # Cleared before any I/O: a double tap finds no dialog and creates nothing twice.
    await state.clear()
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
    path = Path(data["file"])
    try:
        items = await parse_file(path, data)
        summary = draft(data, funding)
        spec = CampaignSpec(
            name=summary.name, instructions=summary.instructions, options=summary.labels,
            overlap=summary.overlap, max_overlap=summary.max_overlap,
            reward_rate_micro=summary.rate_micro, task_type=TaskType(summary.task_type),
            gold_rate=summary.gold, target_confidence=summary.target,
            deadline=summary.deadline, owner_id=worker.id,
        )
        campaign_id = await campaigns.create(spec, items, actor=str(callback.from_user.id),
                                             activate=False, budget_wei=summary.budget_wei)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    await reply(callback, t.created(campaign_id, summary.name), keyboard=None)
    await fund(callback, worker, role, funding, campaign_id)


async def confirm_typed(message: Message) -> None:
    await message.answer(t.USE_CONFIRM_BUTTONS, reply_markup=CONFIRM_KB)


async def cancel(event: Message | CallbackQuery, state: FSMContext) -> None:
    await forget_file(state)
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
        if isinstance(event.message, Message):
            await event.message.edit_reply_markup(reply_markup=None)
    await reply(event, t.CANCELLED, keyboard=None)


async def stale(callback: CallbackQuery) -> None:
    await callback.answer(t.EXPIRED, show_alert=True)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager(), F.chat.type == "private")
    router.callback_query.filter(IsManager())
    in_dialog = StateFilter(NewCampaign)
    not_command = F.text & ~F.text.startswith("/")
    router.message.register(new_campaign, Command("newcampaign"))
    router.message.register(cancel, Command("cancel"), in_dialog)
    router.message.register(fund_command, Command("fund"))
    router.callback_query.register(cancel, NewCb.filter(F.action == "cancel"), in_dialog)
    router.callback_query.register(type_chosen, NewCb.filter(F.action == "type"),
                                   StateFilter(NewCampaign.task_type))
    router.callback_query.register(confirm, NewCb.filter(F.action == "confirm"),
                                   StateFilter(NewCampaign.confirm))
    router.callback_query.register(check_funding, NewCb.filter(F.action == "check"))
    router.callback_query.register(stale, NewCb.filter())
    router.message.register(text_step, not_command, StateFilter(*TEXT_STEPS))
    router.message.register(not_text, ~F.text, StateFilter(*TEXT_STEPS))
    router.message.register(type_typed, not_command, StateFilter(NewCampaign.task_type))
    router.message.register(items_file, F.document, StateFilter(NewCampaign.items))
    router.message.register(not_a_file, ~F.text.startswith("/") | ~F.text,
                            StateFilter(NewCampaign.items))
    router.message.register(confirm_typed, not_command, StateFilter(NewCampaign.confirm))
    return router
