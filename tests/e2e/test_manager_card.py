"""Managers over the fake Bot API: /campaigns, the card (photo + figures + buttons), the controls;
admins granting the role; everyone else refused."""

from __future__ import annotations

import asyncio
from html import unescape
from typing import Any

from sqlalchemy import select, update

from agreemint.sandbox import ChatMessage
from agreemint.services.campaign_control import CampaignControl
from agreemint.store.models import AuditEntry, Campaign, Worker
from bot import manager_texts as texts
from bot.routers.refusals import ADMINS_ONLY, MANAGERS_ONLY
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, start
from tests.factories import make_campaign, make_workers
from tests.integration.test_rounds import answer

MIA, ADA = 601, 602  # a manager, an admin
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def setup(h: Harness, user_id: int, name: str, *, role: str = "manager") -> None:
    # Until runtime.py wires the service, the test hands it to the dispatcher itself.
    h.dp.workflow_data.setdefault(
        "campaign_control", CampaignControl(h.services.sessionmaker, None))
    if role == "manager":
        h.services.roles._managers = h.services.roles._managers | {user_id}
    else:
        h.services.roles._admins = h.services.roles._admins | {user_id}
    await start(h, user_id, name)


async def say(h: Harness, user_id: int, text: str) -> ChatMessage:
    """Send a message and return the bot's newest reply to it."""
    before = len(await h.tg.messages(user_id))
    await h.tg.send_text(user_id, text)
    return (await h.tg.wait_for(user_id, before + 1))[-1]


async def tap(h: Harness, user_id: int, message: ChatMessage, button: str) -> None:
    found = message.button(button)
    assert found is not None and found.callback_data is not None, message.button_texts
    assert found.callback_data.startswith("mgr:") and len(found.callback_data.encode()) <= 64
    await h.tg.tap(user_id, message.message_id, found.callback_data)


async def card_now(h: Harness, user_id: int, message_id: int, condition: str) -> ChatMessage:
    msgs = await h.tg.wait_for(user_id, lambda ms: any(
        m.message_id == message_id and condition in m.content for m in ms))
    return next(m for m in msgs if m.message_id == message_id)


async def labeled_campaign(h: Harness, owner_tg: int) -> int:
    h.services.tasks._settings.gold_rate = 0.0
    cid = await make_campaign(h.services, items=3, overlap=2, name="Pets <&> co")
    async with h.services.sessionmaker() as s:
        owner = await s.scalar(select(Worker.id).where(Worker.telegram_id == owner_tg))
        await s.execute(update(Campaign).where(Campaign.id == cid).values(owner_id=owner))
        await s.commit()
    for w in await make_workers(h.services, 2):
        await answer(h.services, w.telegram_id, w.id, {"item 1": 1, "item 2": 2})
    await h.services.rounds.run_all()
    return cid


async def test_manager_opens_and_controls_a_card(harness: Harness) -> None:
    h = harness
    await setup(h, MIA, "Mia")
    cid = await labeled_campaign(h, MIA)
    listing = await say(h, MIA, "/campaigns")
    assert listing.content.startswith("Your campaigns") and f"#{cid} Pets <&> co" in listing.content
    await tap(h, MIA, listing, f"#{cid} Pets <&> co (active)")
    card = (await h.tg.wait_for(MIA, lambda ms: ms[-1].photo is not None))[-1]
    assert f"#{cid} Pets <&> co — active" in card.content
    assert "Items labeled: 3 / 3 (100%)" in card.content and "Answers: 6 from 2 workers" in (
        card.content)
    assert "(Krippendorff’s α): 1.00" in card.content and "ETA: done" in card.content
    assert card.button_texts == [texts.PAUSE, texts.EXTEND, texts.CLOSE, texts.REFRESH]
    [call] = await h.tg.calls("sendPhoto")
    assert call["ok"] and card.photo is not None
    assert (await h.tg.download(card.photo)).startswith(PNG_MAGIC)

    await tap(h, MIA, card, texts.PAUSE)
    card = await card_now(h, MIA, card.message_id, "— paused")
    assert card.button_texts[0] == texts.RESUME
    await tap(h, MIA, card, texts.RESUME)
    card = await card_now(h, MIA, card.message_id, "— active")
    await tap(h, MIA, card, texts.EXTEND)
    card = await card_now(h, MIA, card.message_id, "Deadline: 20")
    await tap(h, MIA, card, texts.CLOSE)
    confirming = [texts.YES_CLOSE, texts.CANCEL]
    await h.tg.wait_for(MIA, lambda ms: any(m.button_texts == confirming for m in ms))
    await tap(h, MIA, await card_now(h, MIA, card.message_id, ""), texts.CANCEL)
    await h.tg.wait_for(MIA, lambda ms: ms[-1].button_texts[0] == texts.PAUSE)
    await tap(h, MIA, card, texts.CLOSE)
    await h.tg.wait_for(MIA, lambda ms: ms[-1].button_texts == confirming)
    await tap(h, MIA, await card_now(h, MIA, card.message_id, ""), texts.YES_CLOSE)
    card = await card_now(h, MIA, card.message_id, "— closed")
    assert card.button_texts == [texts.REFRESH]
    toasts = [a.get("text") for a in await h.tg.callback_answers(MIA)]
    assert f"Campaign #{cid} is paused: no new tasks go out." in toasts
    assert f"Campaign #{cid} is closed." in toasts and texts.CONFIRM_CLOSE in toasts

    await tap(h, MIA, card, texts.REFRESH)
    msgs = await h.tg.wait_for(MIA, lambda ms: ms[-1].message_id > card.message_id
                               and all(m.message_id != card.message_id for m in ms))
    assert msgs[-1].photo is not None and "— closed" in msgs[-1].content
    async with h.services.sessionmaker() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.actor == str(MIA), AuditEntry.entity == "campaign")
            .order_by(AuditEntry.id)))
    assert actions == ["campaign.paused", "campaign.resumed", "campaign.extended",
                       "campaign.closed"]


async def test_commands_and_refusals_in_chat(harness: Harness) -> None:
    h = harness
    await setup(h, MIA, "Mia")
    assert (await say(h, MIA, "/campaigns")).content == texts.NO_CAMPAIGNS
    cid = await labeled_campaign(h, MIA)
    assert (await say(h, MIA, f"/pause {cid}")).content == texts.paused(cid)
    assert "Only a running campaign can be paused" in (await say(h, MIA, f"/pause {cid}")).content
    assert (await say(h, MIA, "/campaign")).content == unescape(texts.CAMPAIGN_USAGE)
    assert (await say(h, MIA, "/campaign 999")).content == "Campaign 999 is not one of yours."
    assert "runs until" in (await say(h, MIA, f"/extend {cid} 3")).content
    assert (await say(h, MIA, f"/close {cid}")).content == f"Campaign #{cid} is closed."
    assert "Sorry" in (await say(h, MIA, "/grant 5")).content  # managers cannot grant
    before = len(await h.tg.messages(MIA))
    await h.tg.send_text(MIA, f"/campaign {cid}")
    msgs = await h.tg.wait_for(MIA, before + 1)
    assert msgs[-1].photo is not None and msgs[-1].button_texts == [texts.REFRESH]
    # someone else: refused (and audited) by the refusals router, their buttons too
    await start(h, ANN, "Ann")
    assert (await say(h, ANN, "/campaigns")).content == MANAGERS_ONLY
    assert (await say(h, ANN, f"/close {cid}")).content == MANAGERS_ONLY
    assert (await say(h, ANN, f"/grant {ANN}")).content == ADMINS_ONLY
    ann_last = (await h.tg.messages(ANN))[-1]
    await h.tg.tap(ANN, ann_last.message_id, f"mgr:open:{cid}", force=True)
    answers = await _callback_answers(h, ANN, 1)
    assert answers[-1]["text"] == MANAGERS_ONLY


async def test_admin_grants_and_revokes_the_manager_role(harness: Harness) -> None:
    h = harness
    await setup(h, ADA, "Ada", role="admin")
    await start(h, ANN, "Ann")
    assert (await say(h, ANN, "/campaigns")).content == MANAGERS_ONLY
    assert (await say(h, ADA, f"/grant {ANN}")).content == texts.granted(ANN)
    assert (await say(h, ANN, "/campaigns")).content == texts.NO_CAMPAIGNS
    assert (await say(h, ADA, f"/revoke {ANN}")).content == texts.revoked(ANN)
    assert (await say(h, ANN, "/campaigns")).content == MANAGERS_ONLY
    assert (await say(h, ADA, "/grant 424242")).content == texts.unknown_user(424242)
    assert (await say(h, ADA, "/grant abc")).content == unescape(
        texts.GRANT_USAGE.format(command="grant"))
    assert (await say(h, ADA, f"/grant {ADA}")).content == texts.already_admin(ADA)
    h.services.roles._managers = frozenset({ANN})  # named in the operator's settings
    assert (await say(h, ADA, f"/revoke {ANN}")).content == texts.configured_manager(ANN)
    await start(h, MIA, "Mia")
    await make_campaign(h.services, name="Unowned")  # from the CLI: no owner, admins see it
    listing = await say(h, ADA, "/campaigns")
    assert listing.content.startswith("All campaigns") and "Unowned" in listing.content
    async with h.services.sessionmaker() as s:
        changes = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "role.changed").order_by(AuditEntry.id)))
    assert [(c.actor, c.data["role"]) for c in changes] == [
        (str(ADA), "manager"), (str(ADA), "worker"), (str(ADA), "worker")]


async def _callback_answers(h: Harness, user_id: int, count: int) -> list[dict[str, Any]]:
    for _ in range(100):  # callback answers change no chat: poll
        found = [a for a in await h.tg.callback_answers(user_id) if a.get("answered")]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError("no callback answer")
