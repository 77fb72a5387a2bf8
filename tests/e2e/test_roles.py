"""Manager commands from anyone else: one plain refusal, an audit entry, nothing else."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from agreemint.store.models import AuditEntry
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, start


async def test_non_manager_is_refused_and_audited(harness: Harness) -> None:
    h = harness
    await start(h)
    for command in ("/campaigns", "/newcampaign", "/grant 42"):
        await h.tg.send_text(ANN, command)
    msgs = await h.tg.wait_for(ANN, 4)
    await asyncio.sleep(0.2)  # nothing more arrives
    # updates are handled concurrently, so replies may come in any order
    replies = sorted(m.content for m in await h.tg.messages(ANN))[:3]
    assert replies == [
        "Sorry, that is only for admins.",
        "Sorry, that is only for campaign managers.",
        "Sorry, that is only for campaign managers.",
    ]
    upd = await h.tg.tap(ANN, msgs[0].message_id, "mgr:close:1", force=True)
    assert upd
    for _ in range(100):
        async with h.services.sessionmaker() as s:
            refused = list(await s.scalars(
                select(AuditEntry).where(AuditEntry.action == "command.refused")))
        if len(refused) == 4:
            break
        await asyncio.sleep(0.05)
    assert sorted(r.data["command"] for r in refused) == [
        "/campaigns", "/grant", "/newcampaign", "mgr:close:1"]
    assert all(r.actor == str(ANN) for r in refused)
