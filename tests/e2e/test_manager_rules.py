"""/rules over the fake Bot API: the owner reads the campaign's effective rules and changes one,
and the worker in chat then meets the rule at its new threshold; a malformed change, another
manager and a worker are refused and change nothing; every change is in the audit chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from agreemint.sandbox import ChatMessage
from agreemint.services.audit_trail import verify_chain
from agreemint.store.models import AuditEntry, Campaign, Worker
from bot.routers.refusals import MANAGERS_ONLY
from tests.e2e.conftest import Harness
from tests.e2e.test_manager_card import say, setup
from tests.e2e.test_worker_flow import ANN, open_task, start
from tests.factories import make_campaign

MIA, BOB = 631, 632  # two managers; Mia owns the campaign. Ann (a worker) answers tasks.
SKIP_RULE = "Rule “skips in a row”: you skipped 2 tasks in a row in “Pets”"


async def owned_campaign(h: Harness, owner_tg: int) -> int:
    h.services.tasks._settings.gold_rate = 0.0
    cid = await make_campaign(h.services, items=6, overlap=1)
    async with h.services.sessionmaker() as s:
        owner = await s.scalar(select(Worker.id).where(Worker.telegram_id == owner_tg))
        await s.execute(update(Campaign).where(Campaign.id == cid).values(owner_id=owner))
        await s.commit()
    return cid


async def stored(h: Harness, cid: int) -> tuple[dict[str, Any], list[AuditEntry]]:
    """The campaign's stored overrides and its rules_changed audit entries."""
    async with h.services.sessionmaker() as s:
        rules = (await s.get_one(Campaign, cid)).rules
        changes = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "campaign.rules_changed").order_by(AuditEntry.id)))
    return dict(rules or {}), changes


async def skip(h: Harness, task: ChatMessage, until: str | None = None) -> ChatMessage:
    """Tap the task's Skip; the first later message that has `until` (None: the next task)."""
    button = task.button("Skip")
    assert button is not None and button.callback_data is not None, task.button_texts

    def wanted(m: ChatMessage) -> bool:
        later = m.message_id > task.message_id
        return later and (until in m.content if until else "Skip" in m.button_texts)

    await h.tg.tap(ANN, task.message_id, button.callback_data)
    return next(m for m in await h.tg.wait_for(ANN, lambda ms: any(map(wanted, ms)))
                if wanted(m))


async def test_owner_changes_a_rule_and_it_takes_effect(harness: Harness) -> None:
    h = harness
    await setup(h, MIA, "Mia")
    await setup(h, BOB, "Bob")
    await start(h, ANN, "Ann")
    cid = await owned_campaign(h, MIA)

    usage = await say(h, MIA, "/rules")
    assert usage.content.startswith("Usage:\n/rules <campaign id>")
    shown = await say(h, MIA, f"/rules {cid}")
    assert f"Rules of campaign #{cid} “Pets”" in shown.content
    # The test deployment switches every rule off (TRUST__RULES); the view says so.
    assert ("skips_in_row — deployment (TRUST__RULES): enabled=false\n"
            "skips in a row → off (enabled=false) → paused 30 minutes\n"
            "enabled=false count=10 pause_minutes=30") in shown.content
    assert f"/rules {cid} set same_button pause_at=40" in shown.content

    # Malformed: every problem listed (what was typed comes back escaped), nothing stored.
    bad = await say(h, MIA, f"/rules {cid} set skips_in_row count=<two> pause_minutes=-5 "
                            "enabled=yes color=red")
    assert bad.content.startswith("The campaign's rules were not changed:")
    for problem in ("skips_in_row.count must be a whole number ≥ 0, not '<two>'",
                    "skips_in_row.pause_minutes must be a whole number ≥ 0, not -5",
                    "skips_in_row.enabled must be true or false, not 'yes'",
                    "skips_in_row has no field “color”"):
        assert problem in bad.content
    assert "Usage:" in bad.content
    unknown = await say(h, MIA, f"/rules {cid} reset skip_in_row")
    assert "unknown rule “skip_in_row”; the rules are: gold_accuracy" in unknown.content
    garbled = await say(h, MIA, f"/rules {cid} set skips_in_row count")
    assert garbled.content.startswith("Write each change as field=value, not “count”.")
    assert await stored(h, cid) == ({}, [])

    # Bob manages other campaigns; Ann is a worker: refused, nothing changes.
    for text in (f"/rules {cid}", f"/rules {cid} set skips_in_row enabled=true count=2"):
        assert (await say(h, BOB, text)).content == f"Campaign {cid} is not one of yours."
        assert (await say(h, ANN, text)).content == MANAGERS_ONLY
    assert await stored(h, cid) == ({}, [])

    done = await say(h, MIA, f"/rules {cid} set skips_in_row enabled=true count=2")
    assert done.content.startswith(
        f"✅ Rules of campaign #{cid} changed:\n"
        "• skips_in_row.enabled: false → true\n• skips_in_row.count: 10 → 2\n\n"
        "skips_in_row — overridden here: enabled=true count=2\n"
        "skips in a row → 2 → paused 30 minutes")
    shown = await say(h, MIA, f"/rules {cid}")
    assert "skips_in_row — overridden here: enabled=true count=2" in shown.content

    # Ann in chat: the second skip in a row now pauses her.
    task = await open_task(h, ANN)
    task = await skip(h, task)
    paused = await skip(h, task, SKIP_RULE)
    assert "You're paused there for 30 minutes" in paused.content

    back = await say(h, MIA, f"/rules {cid} reset skips_in_row")
    assert "skips_in_row.enabled: true → false\n• skips_in_row.count: 2 → 10" in back.content
    again = await say(h, MIA, f"/rules {cid} reset all")
    assert again.content == f"Nothing changed: campaign #{cid}'s rules already read so."

    rules, changes = await stored(h, cid)
    assert rules == {}
    assert [(c.actor, c.entity_id, c.data) for c in changes] == [
        (str(MIA), str(cid), {"rules": ["skips_in_row"], "old": {},
                              "new": {"skips_in_row": {"enabled": True, "count": 2}}}),
        (str(MIA), str(cid), {"rules": ["skips_in_row"],
                              "old": {"skips_in_row": {"enabled": True, "count": 2}}, "new": {}}),
    ]
    assert (await verify_chain(h.services.sessionmaker)).ok
    async with h.services.sessionmaker() as s:
        refused = list(await s.scalars(select(AuditEntry.data).where(
            AuditEntry.action == "command.refused", AuditEntry.actor == str(ANN))))
    assert [r["command"] for r in refused] == ["/rules", "/rules"]
