"""Multiple choice and free text over the fake Bot API: the worker's chat, then a round and the
rewards; and the /newcampaign dialog offering both types."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from agreemint.domain import ItemKind, TaskType
from agreemint.runtime import Services
from agreemint.sandbox import ChatMessage
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec
from agreemint.store.models import Answer, Item, LedgerEntry
from bot import texts
from tests.e2e.conftest import Harness
from tests.e2e.test_campaign_dialog import BOSS, campaigns, manager, press, say, upload
from tests.e2e.test_worker_flow import open_task, start
from tests.factories import make_workers

ANN = 501
TOPPINGS = ("cheese", "ham", "olives")


async def make(services: Services, task_type: TaskType, options: tuple[str, ...],
               overlap: int = 2) -> int:
    services.tasks._settings.gold_rate = 0.0
    spec = CampaignSpec("Pizza", "Look closely.", options, overlap=overlap, task_type=task_type,
                        reward_rate_micro=1000)
    return await services.campaigns.create(
        spec, [ItemSpec("i0", ItemKind.TEXT, "a pizza", None, None)])


async def answers(h: Harness) -> list[str]:
    async with h.services.sessionmaker() as s:
        return list(await s.scalars(select(Answer.label).order_by(Answer.id)))


async def statuses(h: Harness) -> list[str]:
    async with h.services.sessionmaker() as s:
        return list(await s.scalars(select(LedgerEntry.status).order_by(LedgerEntry.id)))


async def alerts(h: Harness, user: int, count: int) -> list[str]:
    """The texts of the user's callback answers, once there are `count` of them."""
    for _ in range(100):
        calls = await h.tg.callback_answers(user)
        if len(calls) >= count and all(a.get("answered") for a in calls[:count]):
            return [a.get("text") or "" for a in calls[:count]]
        await asyncio.sleep(0.05)
    raise AssertionError(calls)


def current(msgs: list[ChatMessage], message_id: int) -> ChatMessage:
    return next(m for m in msgs if m.message_id == message_id)


async def test_multiple_choice_in_chat(harness: Harness) -> None:
    h = harness
    campaign = await make(h.services, TaskType.MULTIPLE_CHOICE, TOPPINGS)
    await start(h)
    task = await open_task(h)
    assert texts.PICK_SEVERAL.replace("<b>", "").replace("</b>", "") in task.content
    assert task.button_texts == ["cheese", "ham", "olives", texts.DONE, "Skip"]
    done = task.button(texts.DONE)
    assert done is not None and done.callback_data
    before = len(await h.tg.callback_answers(ANN))
    await h.tg.tap(ANN, task.message_id, done.callback_data)  # nothing selected yet
    assert "at least one" in (await alerts(h, ANN, before + 1))[-1]
    for option in ("cheese", "olives"):
        button = current(await h.tg.messages(ANN), task.message_id).button(option)
        assert button is not None and button.callback_data
        await h.tg.tap(ANN, task.message_id, button.callback_data)
        mark = texts.SELECTED_MARK + option
        await h.tg.wait_for(ANN, lambda ms, m=mark: current(ms, task.message_id).button(m)
                            is not None)
    shown = current(await h.tg.messages(ANN), task.message_id)
    assert shown.button_texts == ["✓ cheese", "ham", "✓ olives", texts.DONE, "Skip"]
    assert await answers(h) == []  # toggling stores nothing
    stale = shown.button("ham")
    done = shown.button(texts.DONE)
    assert stale is not None and stale.callback_data and done is not None and done.callback_data
    await h.tg.tap(ANN, task.message_id, done.callback_data)
    msgs = await h.tg.wait_for(ANN, lambda ms: texts.NOTHING_LEFT[:20] in ms[-1].content)
    edited = current(msgs, task.message_id)
    assert edited.buttons == [] and "Your answer: cheese + olives" in edited.content
    # a toggle or Done from the answered task changes nothing
    before = len(await h.tg.callback_answers(ANN))
    await h.tg.tap(ANN, task.message_id, stale.callback_data, force=True)
    assert "already answered" in (await alerts(h, ANN, before + 1))[-1]
    # a typed message is not an answer to a choice task
    await h.tg.send_text(ANN, "cheese")
    await h.tg.wait_for(ANN, lambda ms: "Please answer with the buttons" in ms[-1].content)
    assert await answers(h) == ["cheese + olives"]
    # a second worker agrees: the round labels the item and both answers are verified
    [bob] = await make_workers(h.services, 1)
    bob_task = await h.services.tasks.next_task(bob.id)
    assert bob_task is not None
    await h.services.tasks.record_selection(bob.telegram_id, bob_task.assignment_id, 0b101)
    summary = await h.services.rounds.run(campaign)
    assert summary is not None
    await h.services.rewards.assess(summary.round_id)
    assert await statuses(h) == ["verified", "verified"]


async def test_free_text_in_chat(harness: Harness) -> None:
    h = harness
    campaign = await make(h.services, TaskType.FREE_TEXT, ())
    await start(h)
    task = await open_task(h)
    assert "Reply with your answer" in task.content
    assert task.button_texts == ["Skip"]

    async def reply(text: str) -> str:
        before = len(await h.tg.messages(ANN))
        await h.tg.send_text(ANN, text)
        return (await h.tg.wait_for(ANN, before + 1))[-1].content

    assert "limit is 200" in await reply("x" * 201)
    # a pasted wallet address goes to the wallet flow, not into the answer
    assert "Saved" not in await reply("0x12345")
    assert await answers(h) == []
    before = len(await h.tg.messages(ANN))
    await h.tg.send_text(ANN, "  Margherita   Pizza ")
    msgs = await h.tg.wait_for(ANN, lambda ms: len(ms) >= before + 2
                               and texts.NOTHING_LEFT[:20] in ms[-1].content)
    assert any(m.content == "Saved: Margherita Pizza" for m in msgs[before:])
    edited = current(msgs, task.message_id)
    assert edited.buttons == [] and "Your answer: Margherita Pizza" in edited.content
    assert "Reply with your answer" not in edited.content
    # with no open free-text task, text gets the usual hint and is not stored
    assert "Please answer with the buttons" in await reply("another one")
    assert await answers(h) == ["margherita pizza"]
    [bob] = await make_workers(h.services, 1)
    bob_task = await h.services.tasks.next_task(bob.id)
    assert bob_task is not None
    await h.services.tasks.record_text(bob.telegram_id, bob_task.assignment_id, "MARGHERITA pizza")
    summary = await h.services.rounds.run(campaign)
    assert summary is not None
    await h.services.rewards.assess(summary.round_id)
    assert await statuses(h) == ["verified", "verified"]


async def test_dialog_offers_multiple_choice_and_free_text(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await manager(h, tmp_path)
    for kind, labels, gold in (("Multiple choice", "cheese, ham, olives", "olives + ham"),
                               ("Free text", None, "Margherita")):
        assert "Step 1" in await say(h, "/newcampaign")
        assert "Step 2" in await say(h, f"Pizza {kind}")
        assert "Step 3" in await say(h, "Look closely.")
        buttons = (await h.tg.messages(BOSS))[-1].button_texts
        assert "Multiple choice" in buttons and "Free text" in buttons
        if labels is not None:
            assert "Step 4" in (await press(h, kind))[0]
            assert "cannot contain" in await say(h, "cheese, ham+olives")
            assert "Step 5" in await say(h, labels)
        else:
            assert "Step 5" in (await press(h, kind))[0]  # no labels for free text
        for answer in ("2", "90%", "0.5", "0.05", "none"):
            await say(h, answer)
        csv = f"id,text,gold\na1,one,\na2,two,\ng1,three,{gold}\n".encode()
        summary = await upload(h, csv, "items.csv")
        assert f"Task: {kind.lower()}" in summary and "Read 3 items (1 gold)" in summary
        await press(h, "Confirm", replies=2)
    multi, free = await campaigns(h)
    assert (multi.task_type, multi.label_options) == (TaskType.MULTIPLE_CHOICE, list(TOPPINGS))
    assert (free.task_type, free.label_options) == (TaskType.FREE_TEXT, [])
    async with h.services.sessionmaker() as s:
        golds = sorted(g for g in await s.scalars(select(Item.gold_label)) if g)
        assert golds == ["ham + olives", "margherita"]
        assert await s.scalar(select(func.count()).select_from(Item)) == 6

