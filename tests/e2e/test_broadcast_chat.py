"""/broadcast in chat, end to end: bad input, queueing, and the status message the sender edits."""

from __future__ import annotations

import asyncio
import re

from agreemint.config import BroadcastSettings
from agreemint.sandbox.models import ChatMessage
from agreemint.services.broadcast import BroadcastService
from bot.broadcaster import run_broadcasts
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import start
from tests.factories import make_campaign

BOSS = 777


async def _say(h: Harness, text: str) -> ChatMessage:
    before = len(await h.tg.messages(BOSS))
    await h.tg.send_text(BOSS, text)
    return (await h.tg.wait_for(BOSS, before + 1))[-1]


async def test_manager_broadcasts_a_campaign(harness: Harness) -> None:
    h = harness
    service = BroadcastService(h.services.sessionmaker, BroadcastSettings(messages_per_second=50))
    h.dp["broadcast"] = service  # what Services.as_deps() provides once wired
    h.services.roles._managers = frozenset({BOSS})
    await start(h, BOSS, "Boss")
    for worker in (601, 602, 603):
        await start(h, worker, f"W{worker}")
    campaign = await make_campaign(h.services, name="Birds")

    assert (await _say(h, "/broadcast")).content.startswith("Usage: /broadcast")
    assert (await _say(h, "/broadcast abc")).content.startswith("“abc” is not a campaign id.")
    assert (await _say(h, "/broadcast 999")).content == "There is no campaign #999."
    assert (await _say(h, f"/broadcast {campaign} 1.5")).content.startswith(
        "“1.5” is not a quality")
    assert (await _say(h, f"/broadcast {campaign} 0.9")).content == (
        "No active worker with quality ≥ 0.9 to send it to; nothing was queued.")

    status = await _say(h, f"/broadcast {campaign}\nBirds are back! Send /next.")
    # The manager is a registered worker too, so four recipients.
    # (PostgreSQL may have used id 1 up in the refused attempt: sequences do not roll back.)
    match = re.match(r"Broadcast #(\d+): 0 / 4 sent · queued for 4 workers\.", status.content)
    assert match, status.content
    bid = int(match[1])
    for _ in range(100):  # the handler attaches the status message right after answering
        if (await service.summary(bid)).status_message_id is not None:
            break
        await asyncio.sleep(0.02)

    await run_broadcasts(h.bot, service)
    for worker in (601, 602, 603):
        last = await h.tg.last_message(worker)
        assert last is not None and last.content == "Birds are back! Send /next."
    msgs = await h.tg.messages(BOSS)
    edited = next(m for m in msgs if m.message_id == status.message_id)
    assert edited.content == f"Broadcast #{bid} done: 4 / 4 sent"
    assert msgs[-1].content == "Birds are back! Send /next."  # the manager's own copy


async def test_non_manager_cannot_broadcast(harness: Harness) -> None:
    h = harness
    h.dp["broadcast"] = BroadcastService(h.services.sessionmaker, BroadcastSettings())
    await start(h, 601, "W")
    await h.tg.send_text(601, "/broadcast 1")
    msgs = await h.tg.wait_for(601, 2)
    assert msgs[-1].content == "Sorry, that is only for campaign managers."
    assert await h.dp["broadcast"].active() == []  # nothing was queued
