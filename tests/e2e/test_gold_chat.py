"""/gold over the fake Bot API: a manager sees a flagged key with its evidence and a promotion
candidate, acts with the buttons (the message is redrawn), and stale or foreign taps change
nothing."""

from __future__ import annotations

from sqlalchemy import select, update

from agreemint.config import Settings
from agreemint.sandbox import ChatMessage
from agreemint.store.models import AuditEntry, Campaign, Item, Worker
from tests.e2e.conftest import Harness
from tests.e2e.test_manager_card import say, setup
from tests.factories import make_campaign, make_workers
from tests.integration.trust.test_gold_review import GOOD, put, round_with

MIA, BOB = 611, 612  # two managers; Mia owns the campaign


async def gold_campaign(h: Harness, owner_tg: int) -> dict[str, int]:
    """Gold g0 keyed “cat” that four of five good workers answer “dog”, and item i0 that three
    workers labeled “cat” unanimously with confidence 0.995. Returns external id → item id."""
    cid = await make_campaign(h.services, items=2, overlap=2, gold=2)
    workers = [w.id for w in await make_workers(h.services, 5)]
    async with h.services.sessionmaker() as s:
        owner = await s.scalar(select(Worker.id).where(Worker.telegram_id == owner_tg))
        await s.execute(update(Campaign).where(Campaign.id == cid).values(owner_id=owner))
        ids = dict((await s.execute(
            select(Item.external_id, Item.id).where(Item.campaign_id == cid))).all())
        for k, w in enumerate(workers):
            await put(s, w, ids["g0"], "cat" if k == 4 else "dog")
        for w in workers[:3]:
            await put(s, w, ids["i0"], "cat")
        await s.execute(update(Item).where(Item.id == ids["i0"]).values(
            resolved=True, consensus_label="cat", confidence=0.995))
        await round_with(s, cid, dict.fromkeys(workers, GOOD))
        await s.commit()
    ids["campaign"] = cid
    return ids


async def tap(h: Harness, user_id: int, message: ChatMessage, text: str) -> str:
    button = message.button(text)
    assert button is not None and button.callback_data is not None, message.button_texts
    data = button.callback_data
    assert data.startswith("gold:") and len(data.encode()) <= 64
    await h.tg.tap(user_id, message.message_id, data)
    return data


async def toast(h: Harness, user_id: int, answered: int) -> str:
    """The user's newest callback answer, once the bot has answered `answered` taps in all."""
    await h.tg.wait_for_call("answerCallbackQuery", answered)
    return str((await h.tg.callback_answers(user_id))[-1].get("text"))


async def redrawn(h: Harness, user_id: int, message_id: int, gone: str) -> ChatMessage:
    """The message once its text no longer has `gone`."""
    msgs = await h.tg.wait_for(user_id, lambda ms: any(
        m.message_id == message_id and gone not in m.content for m in ms))
    return next(m for m in msgs if m.message_id == message_id)


async def item_state(h: Harness, item_id: int) -> tuple[bool, str | None, str | None]:
    async with h.services.sessionmaker() as s:
        item = await s.get_one(Item, item_id)
        return item.is_gold, item.gold_label, item.gold_flag


async def test_manager_reviews_gold_in_chat(harness: Harness, settings: Settings) -> None:
    h = harness
    await setup(h, MIA, "Mia")
    await setup(h, BOB, "Bob")
    ids = await gold_campaign(h, MIA)
    cid, g0, i0 = ids["campaign"], ids["g0"], ids["i0"]
    gold = h.dp.workflow_data["gold_review"]
    assert await gold.flag_bad_gold(cid) == [g0]  # what the lead's round job will call

    usage = await say(h, MIA, "/gold")
    assert usage.content.startswith("Usage: /gold <campaign id>")
    shown = await say(h, MIA, f"/gold {cid}")
    assert f"Gold of campaign #{cid}" in shown.content
    assert f"#{g0} “gold 0” — key “cat”" in shown.content
    assert "4 of 5 good workers answered “dog”, the key says “cat”" in shown.content
    assert f"#{i0} “item 0” → “cat” (confidence 0.995, 3 answers, all agree)" in shown.content
    assert shown.button_texts == [f"#{g0} Keep key", f"#{g0} Use “dog”", f"#{g0} Drop",
                                  f"#{i0} Promote “cat”"]

    # Bob manages other campaigns: a forged tap on Mia's item changes nothing.
    bob_msg = await say(h, BOB, f"/gold {cid}")
    assert bob_msg.content == f"Campaign {cid} is not one of yours."
    keep = shown.button(f"#{g0} Keep key")
    assert keep is not None and keep.callback_data is not None
    await h.tg.tap(BOB, bob_msg.message_id, keep.callback_data, force=True)
    assert await toast(h, BOB, 1) == f"Item #{g0} is not in one of your campaigns."
    assert (await item_state(h, g0))[2] is not None

    await tap(h, MIA, shown, f"#{i0} Promote “cat”")
    shown = await redrawn(h, MIA, shown.message_id, "Promotion candidates")
    assert "Keys that look wrong" in shown.content
    assert await toast(h, MIA, 2) == f"#{i0} is gold now."
    assert await item_state(h, i0) == (True, "cat", None)

    use = await tap(h, MIA, shown, f"#{g0} Use “dog”")
    shown = await redrawn(h, MIA, shown.message_id, "Keys that look wrong")
    assert "No gold key is flagged and no item is ready for promotion." in shown.content
    assert shown.button_texts == []
    assert await toast(h, MIA, 3) == f"#{g0} has its new key."
    assert await item_state(h, g0) == (True, "dog", None)

    # The old button again (a double tap, or an old message): refused, nothing changes.
    await h.tg.tap(MIA, shown.message_id, use, force=True)
    assert await toast(h, MIA, 4) == (
        f"The key of item #{g0} is not flagged any more: send /gold again.")
    assert await item_state(h, g0) == (True, "dog", None)

    async with h.services.sessionmaker() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.actor == str(MIA), AuditEntry.action.like("gold.%"))
            .order_by(AuditEntry.id)))
    assert actions == ["gold.promoted", "gold.key_fixed"]
