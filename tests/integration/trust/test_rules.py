"""Per-campaign rules (measure → condition → action) on SQLite and PostgreSQL.

Answers and skips go through a TaskService wired to the rule engine (as the runtime wires it):
the rules run inside the answer's transaction, their messages come back as the receipt's notes,
and a pause or cap keeps `next_task` from offering that campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from agreemint.config import Settings, TrustSettings
from agreemint.domain import TaskView, WorkerView
from agreemint.errors import InvalidInput
from agreemint.runtime import Services
from agreemint.services.rules import ALL_OFF, Blocks, RuleEngine, parse_rules
from agreemint.services.tasks import TaskService
from agreemint.store.models import (
    Answer,
    Assignment,
    AuditEntry,
    Campaign,
    LedgerEntry,
    RuleEvent,
    SettlementBatch,
    Standing,
    Worker,
)
from tests.conftest import Clock
from tests.factories import OPTIONS, make_campaign, make_workers

DAY = 24 * 3600


@dataclass
class Rig:
    services: Services
    clock: Clock
    engine: RuleEngine
    tasks: TaskService
    campaign_id: int
    worker: WorkerView

    async def task(self, worker: WorkerView | None = None) -> TaskView | None:
        return await self.tasks.next_task((worker or self.worker).id)

    async def answer(self, option: int = 0, seconds: float = 3.0,
                     worker: WorkerView | None = None, right: bool | None = None) -> list[str]:
        """Take the next task, answer it `seconds` later; the rules' messages.
        With `right` set, answer a gold question right or wrong instead of `option`."""
        who = worker or self.worker
        task = await self.task(who)
        assert task is not None, "no task offered"
        if right is not None:
            gold = int((task.text or "").split()[-1]) % len(OPTIONS)  # factories' gold labels
            option = gold if right else (gold + 1) % len(OPTIONS)
        self.clock.advance(seconds)
        receipt = await self.tasks.record_answer(who.telegram_id, task.assignment_id, option)
        return list(receipt.notes)

    async def skip(self) -> list[str]:
        task = await self.task()
        assert task is not None, "no task offered"
        self.clock.advance(2)
        receipt = await self.tasks.skip(self.worker.telegram_id, task.assignment_id)
        return list(receipt.notes)

    async def blocks(self, worker: WorkerView | None = None) -> Blocks:
        async with self.services.sessionmaker() as s:
            return await self.engine.blocked(s, await s.get_one(Worker, (worker or self.worker).id))

    async def standing(self) -> Standing:
        async with self.services.sessionmaker() as s:
            row = await s.scalar(select(Standing).where(Standing.worker_id == self.worker.id))
            assert row is not None
            return row

    async def events(self) -> list[RuleEvent]:
        async with self.services.sessionmaker() as s:
            return list(await s.scalars(select(RuleEvent).order_by(RuleEvent.id)))


async def rig(services: Services, clock: Clock, settings: Settings, *, items: int = 40,
              gold: int = 0, rules: dict[str, Any] | None = None,
              trust: TrustSettings | None = None,
              defaults: dict[str, Any] | None = None) -> Rig:
    campaign_id = await make_campaign(services, items=items, overlap=1, gold=gold)
    async with services.sessionmaker() as s:
        values: dict[str, Any] = {"rules": rules or {}}
        if gold:
            values["gold_rate"] = 1.0  # every task is gold while gold lasts
        await s.execute(update(Campaign).where(Campaign.id == campaign_id).values(**values))
        await s.commit()
    [worker] = await make_workers(services, 1)
    engine = RuleEngine(trust or settings.trust, clock, defaults)
    tasks = TaskService(services.sessionmaker, settings.tasks, clock, rules=engine)
    return Rig(services, clock, engine, tasks, campaign_id, worker)


# --- definitions ---------------------------------------------------------------------------

def test_overrides_change_only_what_they_name() -> None:
    rules = parse_rules({"same_button": {"pause_at": 40}, "daily_earnings": {"max_tokens": 5}})
    assert (rules.same_button.warn_at, rules.same_button.pause_at) == (15, 40)
    assert rules.daily_earnings.max_wei == 5 * 10**18
    assert parse_rules(None) == parse_rules({}) == parse_rules({"too_fast": {}})
    assert parse_rules({"too_fast": {"min_seconds": 2}}).too_fast.min_seconds == 2.0


def test_malformed_overrides_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rules({
            "same_buton": {"pause_at": 40},
            "too_fast": {"min_secs": 2},
            "skips_in_row": {"count": "ten"},
            "same_button": {"warn_at": 30, "pause_at": 20},
            "gold_accuracy": {"min_accuracy": 1.5, "enabled": "yes"},
        })
    text = caught.value.user_message
    assert text.startswith("The campaign's rules were not changed")
    for part in ("unknown rule “same_buton”", "too_fast has no field “min_secs”",
                 "skips_in_row.count must be a whole number", "warn_at (30) must be below",
                 "min_accuracy must be at most 1", "enabled must be true or false"):
        assert part in text
    with pytest.raises(InvalidInput, match="must be an object"):
        parse_rules(["too_fast"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"min_answered \(30\) must not exceed window"):
        parse_rules({"gold_accuracy": {"min_answered": 30}})


# --- rules ---------------------------------------------------------------------------------

async def test_too_fast_withholds_that_answer(services: Services, clock: Clock,
                                              settings: Settings) -> None:
    r = await rig(services, clock, settings)
    assert await r.answer(seconds=1.5) == []  # at the minimum: fine
    [message] = await r.answer(seconds=1.2)
    assert message.startswith("Rule “too fast”: you answered in 1.2 s; the minimum here is 1.5 s")
    assert "Read each task fully" in message
    async with services.sessionmaker() as s:
        flags = list(await s.scalars(select(Answer.flag).order_by(Answer.id)))
    assert flags == [None, "answered in 1.2 s; the minimum for this campaign is 1.5 s"]
    assert (await r.standing()).warnings == 1
    [event] = await r.events()
    assert (event.rule, event.action, event.measured) == ("too_fast", "withhold", 1.2)
    assert (await r.blocks()).campaigns == {}  # a warning, not a pause


async def test_fast_streak_pauses_and_the_pause_expires(services: Services, clock: Clock,
                                                        settings: Settings) -> None:
    r = await rig(services, clock, settings)
    for _ in range(4):
        assert len(await r.answer(seconds=1.0)) == 1  # too fast, but no streak yet
        assert await r.answer(seconds=4) == []
    messages = await r.answer(seconds=1.0)  # the 5th fast one among the last 20
    assert len(messages) == 2
    assert messages[1] == (
        "Rule “fast streak”: 5 of your last 20 answers came faster than 1.5 s. You're paused "
        "in “Pets” for 1 hour. Take the time to read each task; careful answers keep you in.")
    blocks = await r.blocks()
    assert "fast streak" in blocks.campaigns[r.campaign_id]
    assert "Pets" in (blocks.describe({r.campaign_id: "Pets"}) or "")
    clock.advance(59 * 60)
    assert r.campaign_id in (await r.blocks()).campaigns
    assert await r.task() is None
    clock.advance(60)
    assert (await r.blocks()).campaigns == {}
    # the punished streak does not count again: one more fast answer is only "too fast"
    assert [m.split(":")[0] for m in await r.answer(seconds=1.0)] == ["Rule “too fast”"]


async def test_same_button_warns_once_then_pauses(services: Services, clock: Clock,
                                                  settings: Settings) -> None:
    r = await rig(services, clock, settings)
    assert await r.answer(option=1) == []  # a different answer before the run
    for _ in range(14):
        assert await r.answer(option=0) == []
    [warning] = await r.answer(option=0)  # 15 in a row
    assert warning.startswith("Rule “same button”: your last 15 answers were all “cat”. "
                              "This is a warning")
    for _ in range(9):  # 16..24: no second warning
        assert await r.answer(option=0) == []
    [pause] = await r.answer(option=0)
    assert pause == (
        "Rule “same button”: your last 25 answers were all “cat”. You're paused in “Pets” for "
        "30 minutes. Read each task and answer what you see; varied, careful answers keep you in.")
    assert (await r.standing()).warnings == 1
    assert [e.action for e in await r.events()] == ["warn", "pause"]
    assert "same button" in (await r.blocks()).campaigns[r.campaign_id]
    assert await r.task() is None
    clock.advance(30 * 60)
    assert (await r.blocks()).campaigns == {}
    assert await r.task() is not None


async def test_skips_in_a_row_pause(services: Services, clock: Clock, settings: Settings) -> None:
    r = await rig(services, clock, settings)
    for _ in range(9):
        assert await r.skip() == []
    assert await r.answer() == []  # an answer breaks the run
    for _ in range(9):
        assert await r.skip() == []
    [message] = await r.skip()
    assert message.startswith("Rule “skips in a row”: you skipped 10 tasks in a row in “Pets”. "
                              "You're paused there for 30 minutes.")
    assert "Skip only what you can't judge" in message
    assert (await r.standing()).paused_until == clock.now + timedelta(minutes=30)
    assert await r.task() is None
    async with services.sessionmaker() as s:
        actions = list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("rule.%"))))
    assert actions == ["rule.pause"]


async def test_daily_answers_cap_from_a_campaign_override(services: Services, clock: Clock,
                                                          settings: Settings) -> None:
    r = await rig(services, clock, settings, rules={"daily_answers": {"max_answers": 3}})
    other = await make_campaign(services, items=5, overlap=1, name="Birds")
    assert await r.answer() == []
    assert await r.answer() == []
    [message] = await r.answer()
    assert message.startswith("Rule “daily answers”: you gave 3 answers today in “Pets”")
    assert "until 2026-11-23 00:00 UTC" in message
    blocks = await r.blocks()
    assert set(blocks.campaigns) == {r.campaign_id}  # "Birds" stays open
    offered = await r.task()
    assert offered is not None and offered.campaign_name == "Birds"
    assert other not in blocks.campaigns
    clock.now = clock.now.replace(hour=23, minute=59)
    assert r.campaign_id in (await r.blocks()).campaigns
    clock.advance(60)
    assert (await r.blocks()).campaigns == {}


async def test_daily_earnings_cap(services: Services, clock: Clock, settings: Settings) -> None:
    r = await rig(services, clock, settings, rules={"daily_earnings": {"max_tokens": 2}})
    assert await r.answer() == []
    assert await r.answer() == []
    assert await r.task() is not None  # a task already open when the cap is reached
    async with services.sessionmaker() as s:  # a round verified both: one token each
        for answer in await s.scalars(select(Answer)):
            s.add(LedgerEntry(answer_id=answer.id, worker_id=answer.worker_id,
                              campaign_id=r.campaign_id, status="verified", amount_wei=10**18))
        await s.commit()
    # reached by the round, not by an answer: the campaign is closed at once
    assert "daily maximum of 2 tokens" in (await r.blocks()).campaigns[r.campaign_id]
    [message] = await r.answer()  # answering the open task says why nothing follows
    assert message.startswith("Rule “daily earnings”: your rewards today in “Pets” reached "
                              "2 tokens, the daily maximum of 2 tokens.")
    assert await r.task() is None
    clock.advance(DAY)
    assert (await r.blocks()).campaigns == {}
    assert await r.task() is not None


async def test_rule_off_and_threshold_override(services: Services, clock: Clock,
                                               settings: Settings) -> None:
    r = await rig(services, clock, settings,
                  rules={"too_fast": {"min_seconds": 3}, "same_button": {"enabled": False}})
    [message] = await r.answer(seconds=2.5)
    assert "the minimum here is 3 s" in message
    for _ in range(30):
        assert await r.answer(seconds=5) == []  # same button switched off


async def test_operator_defaults_under_campaign_overrides(
    services: Services, clock: Clock, settings: Settings
) -> None:
    r = await rig(services, clock, settings, defaults=dict(ALL_OFF),
                  rules={"daily_answers": {"enabled": True, "max_answers": 2}})
    assert await r.answer(seconds=0.1) == []  # too fast is off everywhere
    [message] = await r.answer(seconds=0.1)  # ... but this campaign switched its cap back on
    assert message.startswith("Rule “daily answers”: you gave 2 answers today")


async def test_gold_accuracy_removes_and_withholds_unpaid(services: Services, clock: Clock,
                                                          settings: Settings) -> None:
    r = await rig(services, clock, settings, items=4, gold=12)
    for right in (True, False, True, False, False, False, False):
        assert await r.answer(right=right) == []  # 2 of 7: too few answered to judge
    async with services.sessionmaker() as s:  # money in every state, from earlier rounds
        batch = SettlementBatch(batch_key="0x" + "11" * 32, campaign_id=r.campaign_id,
                                status="paid", merkle_root="0x" + "22" * 32)
        s.add(batch)
        await s.flush()
        states = [("pending", None), ("verified", None), ("held", None),
                  ("verified", batch.id), ("paid", batch.id)]
        answers = list(await s.scalars(select(Answer).order_by(Answer.id)))
        for answer, (status, batch_id) in zip(answers, states, strict=False):
            s.add(LedgerEntry(answer_id=answer.id, worker_id=answer.worker_id,
                              campaign_id=r.campaign_id, status=status, amount_wei=10**18,
                              batch_id=batch_id))
        await s.commit()
    [message] = await r.answer(right=False)  # 2 of 8 right
    assert message.startswith("Rule “gold accuracy”: you got 2 of your last 8 hidden check "
                              "questions right (25%); the minimum is 50%. You're removed from "
                              "“Pets” and its unpaid rewards are withheld.")
    assert "appeal a withheld reward within 72 hours" in message
    standing = await r.standing()
    assert standing.removed_at == clock.now and "gold accuracy" in (standing.removed_reason or "")
    async with services.sessionmaker() as s:
        entries = list(await s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
    assert [e.status for e in entries] == ["withheld", "withheld", "withheld", "verified", "paid"]
    assert entries[0].reason == standing.removed_reason
    assert entries[3].batch_id is not None and entries[3].reason is None
    assert (await r.blocks()).campaigns[r.campaign_id] == standing.removed_reason
    assert await r.task() is None
    [why] = await r.tasks.why_nothing(r.worker.id)
    assert why.startswith("Pets: removed by the rule “gold accuracy”")


async def test_gold_accuracy_at_the_threshold_keeps_the_worker(
    services: Services, clock: Clock, settings: Settings
) -> None:
    r = await rig(services, clock, settings, items=4, gold=12,
                  rules={"gold_accuracy": {"window": 6, "min_answered": 4}})
    for right in (True, False, True, False):  # 2 of 4 = 50%: not below
        assert await r.answer(right=right) == []
    assert await r.answer(right=True) == []  # 3 of 5
    assert await r.answer(right=False) == []  # 3 of 6
    [message] = await r.answer(right=False)  # the window slides: 2 of the last 6
    assert "you got 2 of your last 6 hidden check questions right (33%)" in message


async def test_sybil_cap_for_accounts_without_username(
    services: Services, clock: Clock, settings: Settings
) -> None:
    trust = settings.trust.model_copy(update={"limited_daily_answers": 3,
                                              "limit_without_username": True})
    r = await rig(services, clock, settings, trust=trust)
    second = await make_campaign(services, items=5, overlap=1, name="Birds")
    plain = await services.workers.register(555, "Anon", None, "en")
    for _ in range(2):
        assert await r.answer(worker=plain) == []
        assert await r.answer() == []  # a worker with a username is not limited
    [message] = await r.answer(worker=plain)  # 3 answers over both campaigns
    assert message.startswith("Rule “new account limit”: accounts without a Telegram username "
                              "may give at most 3 answers a day")
    assert "Set a username in Telegram's settings" in message
    blocks = await r.blocks(plain)
    assert blocks.everywhere and "3 answers" in blocks.everywhere
    assert await r.task(plain) is None
    assert "You can't get tasks right now" in (blocks.describe({}) or "")
    assert (await r.blocks()).everywhere is None
    async with services.sessionmaker() as s:
        event = await s.scalar(select(RuleEvent).where(RuleEvent.rule == "limited_account"))
        assert event is not None and event.campaign_id is None and event.action == "limit"
    assert second  # both campaigns count toward the one global cap
    clock.advance(DAY)
    assert (await r.blocks(plain)).everywhere is None
    assert await r.task(plain) is not None


async def test_sybil_cap_for_young_accounts(services: Services, clock: Clock,
                                            settings: Settings) -> None:
    trust = settings.trust.model_copy(update={"limited_daily_answers": 1,
                                              "min_account_age_hours": 24})
    r = await rig(services, clock, settings, trust=trust)
    async with services.sessionmaker() as s:
        await s.execute(update(Worker).where(Worker.id == r.worker.id)
                        .values(created_at=clock.now - timedelta(hours=23)))
        await s.commit()
    [message] = await r.answer()
    assert "accounts younger than 24 hours may give at most 1 answer a day" in message
    assert (await r.blocks()).everywhere is not None
    assert await r.task() is None
    clock.advance(3600)  # now 24 hours old: the limit is lifted at once
    assert (await r.blocks()).everywhere is None
    assert await r.task() is not None


async def test_works_in_the_callers_transaction_and_never_commits(
    services: Services, clock: Clock, settings: Settings
) -> None:
    r = await rig(services, clock, settings)

    async def fast_answer(purpose: str, commit: bool) -> list[str]:
        task = await r.task()
        assert task is not None
        async with services.sessionmaker() as s:  # as TaskService does: add, flush, check
            assignment = await s.get_one(Assignment, task.assignment_id)
            answer = Answer(item_id=assignment.item_id, worker_id=r.worker.id, label="cat",
                            assignment_id=assignment.id, seconds_taken=0.3, purpose=purpose,
                            answered_at=clock.now)
            s.add(answer)
            assignment.status, assignment.closed_at = "answered", clock.now
            await s.flush()
            campaign = await s.get_one(Campaign, r.campaign_id)
            messages = await r.engine.after_answer(s, await s.get_one(Worker, r.worker.id),
                                                   campaign, answer)
            if commit:
                await s.commit()  # the caller's commit; without it nothing of the rule stays
        return messages

    assert await fast_answer("training", commit=True) == []  # training answers aren't policed
    assert len(await fast_answer("task", commit=False)) == 1
    assert await r.events() == []
    async with services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Standing)) == 0
    assert len(await fast_answer("task", commit=True)) == 1
    async with services.sessionmaker() as s:
        flags = list(await s.scalars(select(Answer.flag).order_by(Answer.id)))
    assert flags == [None, "answered in 0.3 s; the minimum for this campaign is 1.5 s"]
    assert [e.rule for e in await r.events()] == ["too_fast"]
