"""Bad input through the real bot: each gets a clear reply and changes nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from agreemint.store.models import Answer
from bot import texts
from tests.conftest import Clock
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, open_task, start
from tests.factories import make_campaign

BOB = 502


async def answers(h: Harness) -> list[tuple[int, str]]:
    async with h.services.sessionmaker() as s:
        return [(a.worker_id, a.label) for a in await s.scalars(select(Answer))]


async def alert_after(h: Harness, user: int, _update_id: int) -> str:
    """The bot's answer to the user's newest callback query (waits until it is answered)."""
    for _ in range(200):
        queries = await h.tg.callback_answers(user)
        if queries and queries[-1]["answered"]:
            return str(queries[-1].get("text") or "")
        await asyncio.sleep(0.025)
    raise AssertionError("the callback was never answered")


async def test_text_instead_of_a_button(harness: Harness) -> None:
    h = harness
    await make_campaign(h.services)
    await start(h)
    await open_task(h)
    await h.tg.send_text(ANN, "dog")
    msgs = await h.tg.wait_for(ANN, lambda ms: "buttons under the task" in ms[-1].content)
    assert msgs[-1].button_texts == [texts.NEXT_TASK]
    assert await answers(h) == []


async def test_unknown_command(harness: Harness) -> None:
    await start(harness)
    await harness.tg.send_text(ANN, "/payme")
    msgs = await harness.tg.wait_for(ANN, 2)
    assert "I don't know the command /payme" in msgs[-1].content


async def test_forged_and_foreign_buttons_are_refused(harness: Harness) -> None:
    h = harness
    await make_campaign(h.services)
    await start(h)
    await start(h, BOB, "Bob")
    task = await open_task(h)
    data = task.buttons[0][0].callback_data or ""
    # Bob replays Ann's button data on his own chat message
    bob_msg = (await h.tg.messages(BOB))[-1]
    upd = await h.tg.tap(BOB, bob_msg.message_id, data, force=True)
    assert "not given to you" in await alert_after(h, BOB, upd)
    # garbage and out-of-range data
    upd = await h.tg.tap(ANN, task.message_id, "ans:x:y", force=True)
    assert await alert_after(h, ANN, upd) == texts.STALE_BUTTON
    assignment = data.split(":")[1]
    upd = await h.tg.tap(ANN, task.message_id, f"ans:{assignment}:9", force=True)
    assert "not one of this task's options" in await alert_after(h, ANN, upd)
    upd = await h.tg.tap(ANN, task.message_id, "ans:99999:0", force=True)
    assert "no longer exists" in await alert_after(h, ANN, upd)
    assert await answers(h) == []


async def test_second_tap_and_duplicate_update_change_nothing(harness: Harness) -> None:
    h = harness
    await make_campaign(h.services, items=3, overlap=1)
    await start(h)
    task = await open_task(h)
    data = task.buttons[0][0].callback_data or ""
    await h.tg.tap(ANN, task.message_id, data)
    await h.tg.wait_for(ANN, lambda ms: ms[-1].message_id > task.message_id)
    count_before = len(await h.tg.messages(ANN))
    # Telegram delivers the same tap again (same update id): silently ignored
    await h.tg.duplicate_last_update(ANN)
    # The worker taps the old button again (a new update with stale data): told, not recorded
    upd = await h.tg.tap(ANN, task.message_id, data, force=True)
    assert "already answered" in await alert_after(h, ANN, upd)
    assert len(await answers(h)) == 1
    assert len(await h.tg.messages(ANN)) == count_before  # no extra task was sent


async def test_expired_task_button(harness: Harness, clock: Clock) -> None:
    h = harness
    await make_campaign(h.services, items=2, overlap=1)
    await start(h)
    task = await open_task(h)
    clock.advance(h.services.tasks._settings.assignment_ttl_seconds + 1)
    upd = await h.tg.tap(ANN, task.message_id, task.buttons[0][0].callback_data or "")
    assert "expired" in await alert_after(h, ANN, upd)
    assert await answers(h) == []
    async with h.services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Answer)) == 0
