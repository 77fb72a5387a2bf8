"""A worker paused while a task is open in the chat, over the fake Bot API: the answer is
refused with the rule's reason, the task loses its buttons, and the item goes to someone else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from agreemint.domain import ItemKind, TaskType
from agreemint.services import rule_texts
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec
from agreemint.services.standing import get_standing
from agreemint.store.models import Answer, Campaign, Worker
from bot import texts
from tests.conftest import Clock
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, open_task, start
from tests.factories import make_campaign

BOB = 502
NOT_SAVED = "⛔ Your answer was not saved"


async def pause_ann(h: Harness, clock: Clock, minutes: int = 30) -> str:
    """Pause Ann in the campaign as the "same button" rule does; the reason stored (and shown)."""
    _, reason = rule_texts.same_button_pause(25, "cat", "Pets", minutes)
    async with h.services.sessionmaker() as s:
        worker_id = await s.scalar(select(Worker.id).where(Worker.telegram_id == ANN))
        campaign_id = await s.scalar(select(Campaign.id))
        assert worker_id is not None and campaign_id is not None
        standing = await get_standing(s, worker_id, campaign_id)
        standing.paused_until = clock.now + timedelta(minutes=minutes)
        standing.pause_reason = reason
        await s.commit()
    return reason


async def answers(h: Harness) -> int:
    async with h.services.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(Answer)) or 0)


async def test_a_tap_after_a_pause_is_refused_with_the_reason(harness: Harness,
                                                              clock: Clock) -> None:
    h = harness
    await make_campaign(h.services, items=1, overlap=1)
    await start(h)
    task = await open_task(h)
    reason = await pause_ann(h, clock)

    dog = task.button("dog")
    assert dog is not None and dog.callback_data is not None
    await h.tg.tap(ANN, task.message_id, dog.callback_data)
    msgs = await h.tg.wait_for(ANN, lambda ms: NOT_SAVED in ms[-1].content)
    refusal = msgs[-1]
    assert "you can't answer tasks in “Pets” right now" in refusal.content
    assert reason in refusal.content and "gone back to other workers" in refusal.content
    assert refusal.button_texts == [texts.NEXT_TASK]
    closed = next(m for m in msgs if m.message_id == task.message_id)
    assert closed.buttons == [] and "Not saved" in closed.content
    assert any(a.get("text") == texts.NOT_SAVED for a in await h.tg.callback_answers(ANN))
    assert await answers(h) == 0

    # The item is free again: Bob gets it, and Ann's Next task says why she gets nothing.
    await start(h, BOB, "Bob")
    bobs = await open_task(h, BOB)
    assert "Skip" in bobs.button_texts and "item 0" in bobs.content
    nothing = await open_task(h)
    assert "No task for you right now" in nothing.content and reason in nothing.content


async def test_a_free_text_reply_after_a_pause_is_refused(harness: Harness,
                                                          clock: Clock) -> None:
    h = harness
    await h.services.campaigns.create(
        CampaignSpec("Pets", "Name the animal.", (), overlap=1, task_type=TaskType.FREE_TEXT),
        [ItemSpec("i0", ItemKind.TEXT, "item 0", None, None)])
    await start(h)
    task = await open_task(h)
    reason = await pause_ann(h, clock)

    await h.tg.send_text(ANN, "a cat")
    msgs = await h.tg.wait_for(ANN, lambda ms: NOT_SAVED in ms[-1].content)
    assert reason in msgs[-1].content
    closed = next(m for m in msgs if m.message_id == task.message_id)
    assert closed.buttons == [] and "Not saved" in closed.content
    assert await answers(h) == 0
