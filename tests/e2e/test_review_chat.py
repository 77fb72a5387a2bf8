"""/review over the fake Bot API: a manager sees an open collusion case with its evidence and
decides it with buttons; other managers, workers, forged and repeated taps change nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from agreemint.config import Settings
from agreemint.sandbox import ChatMessage
from agreemint.services.collusion_scan import CollusionScan
from agreemint.services.standing import find_standing
from agreemint.store.models import LedgerEntry, ReviewCase
from bot import review_texts as texts
from tests.conftest import Clock
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import start
from tests.integration.trust.test_collusion import ADMIN_TG, OTHER_TG, OWNER_TG, Scene, scene

WORKER_TG = 903


async def setup(h: Harness, settings: Settings) -> tuple[Scene, int]:
    h.services.roles._managers = h.services.roles._managers | {OWNER_TG, OTHER_TG}
    h.services.roles._admins = h.services.roles._admins | {ADMIN_TG}
    for tg, name in ((OWNER_TG, "Olga"), (OTHER_TG, "Otto"), (WORKER_TG, "Wes")):
        await start(h, tg, name)
    sc = await scene(h.services, Clock())
    [case_id] = await CollusionScan(h.services.sessionmaker, settings.trust).scan(sc.campaign_id)
    return sc, case_id


async def say(h: Harness, user_id: int, text: str, replies: int = 1) -> list[ChatMessage]:
    before = len(await h.tg.messages(user_id))
    await h.tg.send_text(user_id, text)
    return (await h.tg.wait_for(user_id, before + replies))[before:]


async def tap(h: Harness, user_id: int, message: ChatMessage, button: str) -> None:
    found = message.button(button)
    assert found is not None and found.callback_data is not None, message.button_texts
    assert found.callback_data.startswith("rev:") and len(found.callback_data.encode()) <= 64
    await h.tg.tap(user_id, message.message_id, found.callback_data)


async def alert(h: Harness, user_id: int, count: int) -> dict[str, object]:
    """The newest callback answer, once the user has `count` answered taps."""
    for _ in range(100):
        answers = [a for a in await h.tg.callback_answers(user_id) if a.get("answered")]
        if len(answers) >= count:
            return answers[-1]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no answer to tap {count} of {user_id}")


async def case_message(h: Harness, user_id: int, message_id: int, has: str) -> ChatMessage:
    msgs = await h.tg.wait_for(user_id, lambda ms: any(
        m.message_id == message_id and has in m.content for m in ms))
    return next(m for m in msgs if m.message_id == message_id)


async def status(h: Harness, case_id: int) -> str:
    async with h.services.sessionmaker() as s:
        return (await s.get_one(ReviewCase, case_id)).status


async def test_manager_reviews_and_releases_a_case(harness: Harness, settings: Settings) -> None:
    h = harness
    sc, case_id = await setup(h, settings)
    [card] = await say(h, OWNER_TG, "/review")
    assert card.content.startswith(f"Case #{case_id} — campaign #{sc.campaign_id} Pets <b>")
    assert "Members (3): " in card.content and "Held: 151 reward(s), 150 LBL" in card.content
    assert "30 shared items, agreed" in card.content and "median gap 10 min" in card.content
    assert "expected, p = " in card.content
    assert card.button_texts == [texts.RELEASE, texts.CONFIRM, texts.KEEP]

    # Another manager: no cases of theirs, and a forged tap on this case is refused.
    [other] = await say(h, OTHER_TG, "/review")
    assert other.content == texts.NO_CASES
    await h.tg.tap(OTHER_TG, other.message_id, f"rev:rel:{case_id}", force=True)
    refused = await alert(h, OTHER_TG, 1)
    assert refused["text"] == f"Case #{case_id} is not one of yours." and refused["show_alert"]
    # A worker gets no case, and their forged tap is refused too.
    [reply] = await say(h, WORKER_TG, "/review")
    assert "Case #" not in reply.content
    await h.tg.tap(WORKER_TG, reply.message_id, f"rev:rel:{case_id}", force=True)
    assert (await alert(h, WORKER_TG, 1))["show_alert"]
    assert await status(h, case_id) == "open"

    # Confirm asks first; Back returns; Keep leaves it open with a note.
    await tap(h, OWNER_TG, card, texts.CONFIRM)
    msgs = await h.tg.wait_for(OWNER_TG, lambda ms: ms[-1].button_texts == [
        texts.YES_CONFIRM, texts.BACK])
    await tap(h, OWNER_TG, msgs[-1], texts.BACK)
    msgs = await h.tg.wait_for(OWNER_TG, lambda ms: ms[-1].button_texts == card.button_texts)
    await tap(h, OWNER_TG, msgs[-1], texts.KEEP)
    kept = await case_message(h, OWNER_TG, card.message_id, "kept on hold by a manager")
    assert kept.button_texts == card.button_texts
    assert (await alert(h, OWNER_TG, 3))["text"] == texts.KEPT

    await tap(h, OWNER_TG, kept, texts.RELEASE)
    done = await case_message(h, OWNER_TG, card.message_id, "✅ Released")
    assert done.button_texts == [] and "Held:" not in done.content
    assert (await alert(h, OWNER_TG, 4))["text"] == f"Case #{case_id} released."
    assert await status(h, case_id) == "released"
    # A second (forged) decision on the decided case: a clear refusal, nothing moves.
    await h.tg.tap(OWNER_TG, card.message_id, f"rev:cfy:{case_id}", force=True)
    again = await alert(h, OWNER_TG, 5)
    assert "already released" in str(again["text"]) and "nothing changed" in str(again["text"])
    async with h.services.sessionmaker() as s:
        statuses = set(await s.scalars(select(LedgerEntry.status).where(
            LedgerEntry.worker_id.in_(sc.group))))
    assert statuses == {"verified", "pending", "paid"}
    assert (await say(h, OWNER_TG, "/review"))[0].content == texts.NO_CASES


async def test_admin_confirms_after_asking(harness: Harness, settings: Settings) -> None:
    h = harness
    sc, case_id = await setup(h, settings)
    await start(h, ADMIN_TG, "Ada")
    [card] = await say(h, ADMIN_TG, "/review")  # admins see every campaign's cases
    assert card.content.startswith(f"Case #{case_id}")
    await tap(h, ADMIN_TG, card, texts.CONFIRM)
    msgs = await h.tg.wait_for(ADMIN_TG, lambda ms: ms[-1].button_texts == [
        texts.YES_CONFIRM, texts.BACK])
    assert await status(h, case_id) == "open"  # asking changes nothing
    await tap(h, ADMIN_TG, msgs[-1], texts.YES_CONFIRM)
    done = await case_message(h, ADMIN_TG, card.message_id, "⛔ Confirmed")
    assert done.button_texts == []
    async with h.services.sessionmaker() as s:
        standing = await find_standing(s, sc.leader, sc.campaign_id)
        statuses = set(await s.scalars(select(LedgerEntry.status).where(
            LedgerEntry.worker_id.in_(sc.group))))
    assert standing is not None and standing.removed_at is not None
    assert statuses == {"withheld", "paid"}
