"""Qualification by gold: training questions, feedback at once, pass, fail, cool-down, retry,
running out of gold, and each gold item shown to a worker at most once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from agreemint.config import Settings, TrustSettings
from agreemint.runtime import Services
from agreemint.services.standing import blocking_reason, find_standing
from agreemint.services.training import NO_GOLD_LEFT, Training, training_size
from agreemint.store.models import Answer, Assignment, AuditEntry, Campaign, Item, Worker
from tests.conftest import Clock
from tests.factories import OPTIONS, make_campaign, make_workers


async def trained_campaign(services: Services, gold: int = 8, questions: int = 4,
                           items: int = 4) -> int:
    cid = await make_campaign(services, items=items, overlap=2, gold=gold)
    async with services.sessionmaker() as s:
        await s.execute(update(Campaign).where(Campaign.id == cid)
                        .values(training_questions=questions, training_pass=0.75))
        await s.commit()
    return cid


class Trainee:
    """Drives Training the way TaskService does: one transaction to issue, one to answer."""

    def __init__(self, services: Services, training: Training, clock: Clock, worker_id: int,
                 campaign_id: int) -> None:
        self.sm, self.training, self.clock = services.sessionmaker, training, clock
        self.worker_id, self.campaign_id = worker_id, campaign_id
        self.seen: list[int] = []

    async def next(self) -> tuple[str, int | None]:
        async with self.sm() as s:
            worker = await s.get_one(Worker, self.worker_id)
            campaign = await s.get_one(Campaign, self.campaign_id)
            gate = await self.training.admission(s, worker, campaign)
            item_id = None
            if gate == "train":
                item_id = await self.training.training_item(s, self.worker_id, self.campaign_id)
                if item_id is not None:
                    s.add(Assignment(worker_id=self.worker_id, item_id=item_id,
                                     purpose="training",
                                     expires_at=self.clock() + timedelta(minutes=10)))
                    self.seen.append(item_id)
            await s.commit()
        return gate, item_id

    async def answer(self, item_id: int, right: bool) -> str:
        async with self.sm() as s:
            item = await s.get_one(Item, item_id)
            campaign = await s.get_one(Campaign, item.campaign_id)
            assignment = await s.scalar(select(Assignment).where(
                Assignment.item_id == item_id, Assignment.worker_id == self.worker_id))
            assert assignment is not None and item.gold_label is not None
            label = item.gold_label if right else next(
                o for o in OPTIONS if o != item.gold_label)
            assignment.status = "answered"
            s.add(Answer(item_id=item_id, worker_id=self.worker_id, assignment_id=assignment.id,
                         label=label, purpose="training"))
            feedback = await self.training.grade(s, self.worker_id, item, campaign, label)
            await s.commit()
        return feedback

    async def attempt(self, rights: list[bool]) -> list[str]:
        replies = []
        for right in rights:
            gate, item_id = await self.next()
            assert gate == "train" and item_id is not None
            replies.append(await self.answer(item_id, right))
        return replies


async def trainee(services: Services, settings: Settings, clock: Clock, cid: int) -> Trainee:
    [worker] = await make_workers(services, 1)
    return Trainee(services, Training(settings.trust, clock), clock, worker.id, cid)


async def audit_actions(services: Services) -> list[str]:
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("training.%")).order_by(AuditEntry.id)))


def test_training_size_keeps_half_the_gold_hidden() -> None:
    trust = TrustSettings(training_questions=4)
    assert training_size(trust, 20) == 4
    assert training_size(trust, 5) == 2
    assert training_size(trust, 1) == 0  # one gold item: kept for hidden checks, no training
    assert training_size(TrustSettings(training_questions=0), 20) == 0


async def test_no_training_when_campaign_has_none(services: Services, settings: Settings,
                                                  clock: Clock) -> None:
    cid = await make_campaign(services, gold=1)  # half the gold rounds down to no training
    t = await trainee(services, settings, clock, cid)
    assert await t.next() == ("open", None)
    async with services.sessionmaker() as s:
        assert await find_standing(s, t.worker_id, cid) is None


async def test_passing_opens_the_paid_pool(services: Services, settings: Settings,
                                           clock: Clock) -> None:
    cid = await trained_campaign(services)
    t = await trainee(services, settings, clock, cid)
    replies = await t.attempt([True, True, False, True])
    assert replies[0] == "✓ Right."
    assert replies[2].startswith("✗ The right answer is “")
    assert replies[3] == "✓ Right.\n\nYou passed training: 3 of 4 right. Paid tasks are open now."
    assert await t.next() == ("open", None)
    async with services.sessionmaker() as s:
        row = await find_standing(s, t.worker_id, cid)
        assert row is not None and row.stage == "qualified" and row.training_attempts == 1
    assert await audit_actions(services) == ["training.passed"]
    # training took the least-used gold first and never the same item twice
    assert len(set(t.seen)) == 4


async def test_failing_explains_each_mistake_and_sets_a_cool_down(
    services: Services, settings: Settings, clock: Clock
) -> None:
    cid = await trained_campaign(services)
    async with services.sessionmaker() as s:
        first = await s.scalar(select(Item).where(Item.campaign_id == cid, Item.is_gold)
                               .order_by(Item.id))
        assert first is not None
        first.hint = "Whiskers & <b>meow</b> mean cat."
        await s.commit()
    t = await trainee(services, settings, clock, cid)
    replies = await t.attempt([False, False, True, False])
    assert t.seen[0] == first.id  # least used, then lowest id
    assert replies[0] == ("✗ The right answer is “cat”.\n"
                          "Hint: Whiskers &amp; &lt;b&gt;meow&lt;/b&gt; mean cat.")
    # no item hint: the campaign's instructions are the hint
    assert replies[1] == "✗ The right answer is “dog”.\nHint: Pick the animal."
    assert replies[3].endswith(
        "\n\n1 of 4 right; you need 75 %. You can try again after 13:00 UTC.")
    assert await t.next() == ("wait", None)
    async with services.sessionmaker() as s:
        row = await find_standing(s, t.worker_id, cid)
        assert row is not None and row.stage == "failed"
        assert "retry after 2026-11-22 13:00 UTC" in (blocking_reason(row, clock()) or "")
    assert await audit_actions(services) == ["training.failed"]


async def test_retry_after_cool_down_with_fresh_questions(
    services: Services, settings: Settings, clock: Clock
) -> None:
    cid = await trained_campaign(services)
    t = await trainee(services, settings, clock, cid)
    await t.attempt([False, False, False, True])
    clock.advance(59 * 60)
    assert await t.next() == ("wait", None)
    clock.advance(61)
    first = list(t.seen)
    replies = await t.attempt([True, True, True, True])
    assert replies[-1].endswith("You passed training: 4 of 4 right. Paid tasks are open now.")
    assert not set(first) & set(t.seen[4:])  # a retry shows new questions
    async with services.sessionmaker() as s:
        row = await find_standing(s, t.worker_id, cid)
        assert row is not None and row.training_attempts == 2 and row.stage == "qualified"
        assert (row.training_answered, row.training_correct) == (4, 4)  # counters were reset
    assert await audit_actions(services) == ["training.failed", "training.retry",
                                             "training.passed"]


async def test_qualified_when_the_gold_runs_out(services: Services, settings: Settings,
                                                clock: Clock) -> None:
    # A campaign whose gold shrank below its training size (e.g. keys flagged meanwhile).
    cid = await trained_campaign(services, gold=3)
    async with services.sessionmaker() as s:
        await s.execute(update(Item).where(Item.campaign_id == cid, Item.external_id == "g2")
                        .values(gold_flag="2 of 3 good workers answered “cat”"))
        await s.commit()
    t = await trainee(services, settings, clock, cid)
    await t.attempt([True, False])
    assert await t.next() == ("train", None)  # nothing left to train on: qualified, not stuck
    assert await t.next() == ("open", None)
    assert "g2" not in {i for i in await external_ids(services, t.seen)}  # flagged key unused
    assert await audit_actions(services) == ["training.qualified_without_gold"]


async def test_no_retry_without_fresh_gold(services: Services, settings: Settings,
                                           clock: Clock) -> None:
    """Failing until the gold runs out must not qualify anyone."""
    cid = await trained_campaign(services, gold=8)
    t = await trainee(services, settings, clock, cid)
    await t.attempt([False] * 4)
    clock.advance(3600)
    await t.attempt([False] * 4)
    clock.advance(3600)
    assert await t.next() == ("wait", None)
    async with services.sessionmaker() as s:
        row = await find_standing(s, t.worker_id, cid)
        assert row is not None and row.stage == "failed"
        assert blocking_reason(row, clock()) == NO_GOLD_LEFT
    assert (await audit_actions(services))[-1] == "training.exhausted"


async def external_ids(services: Services, item_ids: list[int]) -> list[str]:
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(Item.external_id).where(Item.id.in_(item_ids))))


async def test_each_gold_item_is_shown_to_a_worker_at_most_once(
    services: Services, settings: Settings, clock: Clock
) -> None:
    """Training takes 4 of 8 gold; the task queue's hidden gold then offers only the other 4."""
    settings.tasks.gold_rate = 1.0  # gold whenever any is left for this worker
    cid = await trained_campaign(services, gold=8, items=10)
    t = await trainee(services, settings, clock, cid)
    await t.attempt([True] * 4)
    async with services.sessionmaker() as s:
        telegram_id = await s.scalar(select(Worker.telegram_id).where(Worker.id == t.worker_id))
        gold = set(await s.scalars(select(Item.id).where(Item.campaign_id == cid, Item.is_gold)))
    hidden = []
    while (task := await services.tasks.next_task(t.worker_id)) is not None:
        async with services.sessionmaker() as s:
            item_id = await s.scalar(select(Assignment.item_id).where(
                Assignment.id == task.assignment_id))
        if item_id in gold:
            hidden.append(item_id)
        assert telegram_id is not None
        await services.tasks.record_answer(telegram_id, task.assignment_id, 0)
    shown = t.seen + hidden
    assert len(hidden) == 4 and len(shown) == len(set(shown)) and set(shown) == gold
    # and training never offers a gold item already seen as hidden gold either
    async with services.sessionmaker() as s:
        assert await t.training.training_item(s, t.worker_id, cid) is None
