"""Assignment rules on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from sqlalchemy import func, select

from agreemint.config import TaskSettings
from agreemint.domain import WorkerView
from agreemint.errors import (
    AlreadyAnswered,
    AssignmentExpired,
    ForeignAssignment,
    InvalidOption,
    NotFound,
)
from agreemint.runtime import Services
from agreemint.services.standing import get_standing
from agreemint.services.tasks import TaskService
from agreemint.store.models import Answer, Assignment, Campaign, Item
from tests.conftest import Clock
from tests.factories import make_campaign, make_workers


async def answer_all(services: Services, worker_tg: int, worker_id: int) -> list[int]:
    """Answer option 0 until nothing is left; returns the item ids answered."""
    done: list[int] = []
    while (task := await services.tasks.next_task(worker_id)) is not None:
        await services.tasks.record_answer(worker_tg, task.assignment_id, 0)
        async with services.sessionmaker() as s:
            done.append((await s.get_one(Assignment, task.assignment_id)).item_id)
    return done


async def test_overlap_and_uniqueness(services: Services) -> None:
    await make_campaign(services, items=4, overlap=2)
    workers = await make_workers(services, 5)
    per_worker = [await answer_all(services, w.telegram_id, w.id) for w in workers]
    for items in per_worker:
        assert len(items) == len(set(items)), "a worker got the same item twice"
    counts = Counter(i for items in per_worker for i in items)
    assert sorted(counts.values()) == [2, 2, 2, 2]
    # the last worker found nothing left
    assert per_worker[-1] == []


async def test_gold_mixed_in_at_rate_and_never_repeated(services: Services) -> None:
    services.tasks._settings.gold_rate = 0.25
    await make_campaign(services, items=12, overlap=1, gold=3)
    [worker] = await make_workers(services, 1)
    seen_gold = []
    async with services.sessionmaker() as s:
        gold_ids = set(await s.scalars(select(Item.id).where(Item.is_gold.is_(True))))
    for _ in range(12):
        task = await services.tasks.next_task(worker.id)
        assert task is not None
        await services.tasks.record_answer(worker.telegram_id, task.assignment_id, 1)
        async with services.sessionmaker() as s:
            item_id = (await s.get_one(Assignment, task.assignment_id)).item_id
        if item_id in gold_ids:
            seen_gold.append(item_id)
    assert len(seen_gold) == 3  # one in four tasks, each gold item once
    assert len(set(seen_gold)) == 3


async def test_gold_label_never_reaches_the_worker(services: Services) -> None:
    await make_campaign(services, items=1, overlap=1, gold=1, options=("yes", "no"))
    services.tasks._settings.gold_rate = 1.0
    [worker] = await make_workers(services, 1)
    task = await services.tasks.next_task(worker.id)
    assert task is not None
    assert task.text == "gold 0"
    assert "gold_label" not in repr(task)  # the view carries no gold field at all
    assert task.options == ("yes", "no")  # both options, unordered by truth


async def test_expired_assignment_releases_slot(services: Services, clock: Clock) -> None:
    await make_campaign(services, items=1, overlap=1)
    first, second = await make_workers(services, 2)
    task = await services.tasks.next_task(first.id)
    assert task is not None
    assert await services.tasks.next_task(second.id) is None  # the only slot is held
    clock.advance(services.tasks._settings.assignment_ttl_seconds + 1)
    assert await services.tasks.expire_stale() == 1
    again = await services.tasks.next_task(second.id)
    assert again is not None
    with pytest.raises(AssignmentExpired):
        await services.tasks.record_answer(first.telegram_id, task.assignment_id, 0)
    await services.tasks.record_answer(second.telegram_id, again.assignment_id, 0)


async def test_late_answer_on_unswept_assignment_is_refused(services: Services,
                                                            clock: Clock) -> None:
    await make_campaign(services, items=1, overlap=1)
    [worker, other] = await make_workers(services, 2)
    task = await services.tasks.next_task(worker.id)
    assert task is not None
    clock.advance(services.tasks._settings.assignment_ttl_seconds + 5)
    with pytest.raises(AssignmentExpired):
        await services.tasks.record_answer(worker.telegram_id, task.assignment_id, 0)
    assert await services.tasks.next_task(other.id) is not None  # the slot came back


async def test_bad_answers_change_nothing(services: Services) -> None:
    await make_campaign(services, items=2, overlap=2)
    alice, mallory = await make_workers(services, 2)
    task = await services.tasks.next_task(alice.id)
    assert task is not None
    with pytest.raises(ForeignAssignment):
        await services.tasks.record_answer(mallory.telegram_id, task.assignment_id, 0)
    with pytest.raises(InvalidOption):
        await services.tasks.record_answer(alice.telegram_id, task.assignment_id, 7)
    with pytest.raises(NotFound):
        await services.tasks.record_answer(alice.telegram_id, 987654, 0)
    receipt = await services.tasks.record_answer(alice.telegram_id, task.assignment_id, 1)
    assert receipt.option == "dog"
    with pytest.raises(AlreadyAnswered):
        await services.tasks.record_answer(alice.telegram_id, task.assignment_id, 2)
    async with services.sessionmaker() as s:
        answers = list(await s.scalars(select(Answer)))
    assert [(a.worker_id, a.label) for a in answers] == [(alice.id, "dog")]


async def test_skip_gives_the_item_to_someone_else(services: Services) -> None:
    await make_campaign(services, items=1, overlap=1)
    first, second = await make_workers(services, 2)
    task = await services.tasks.next_task(first.id)
    assert task is not None
    await services.tasks.skip(first.telegram_id, task.assignment_id)
    assert await services.tasks.next_task(first.id) is None  # never the same item again
    assert await services.tasks.next_task(second.id) is not None


async def test_open_task_is_offered_again_not_a_second_one(services: Services) -> None:
    await make_campaign(services, items=3, overlap=1)
    [worker] = await make_workers(services, 1)
    one = await services.tasks.next_task(worker.id)
    two = await services.tasks.next_task(worker.id)
    assert one is not None and two is not None
    assert one.assignment_id == two.assignment_id


@pytest.mark.parametrize("racers", [12])
async def test_racing_workers_never_exceed_overlap(services: Services, racers: int) -> None:
    await make_campaign(services, items=1, overlap=2)
    workers = await make_workers(services, racers)
    results = await asyncio.gather(*(services.tasks.next_task(w.id) for w in workers))
    assert sum(r is not None for r in results) == 2
    answered = await asyncio.gather(
        *(services.tasks.record_answer(w.telegram_id, r.assignment_id, 0)
          for w, r in zip(workers, results, strict=True) if r is not None)
    )
    assert len(answered) == 2
    async with services.sessionmaker() as s:
        item = await s.scalar(select(Item))
        assert item is not None
        assert item.slots_taken == 2
        assert await s.scalar(select(func.count()).select_from(Answer)) == 2


async def test_no_new_tasks_after_the_deadline(services: Services, clock: Clock) -> None:
    from datetime import timedelta

    from agreemint.store.models import Campaign

    campaign_id = await make_campaign(services, items=3, overlap=1)
    async with services.sessionmaker() as s:
        campaign = await s.get_one(Campaign, campaign_id)
        campaign.deadline = clock.now + timedelta(hours=1)
        await s.commit()
    first, second = await make_workers(services, 2)
    assert await services.tasks.next_task(first.id) is not None
    clock.advance(2 * 3600)
    assert await services.tasks.next_task(second.id) is None


async def test_gold_comes_from_the_same_campaign_at_its_own_rate(services: Services) -> None:
    from agreemint.store.models import Campaign

    services.tasks._settings.gold_rate = 0.0  # the global default would give no gold at all
    first = await make_campaign(services, items=4, overlap=1, gold=2, name="A")
    other = await make_campaign(services, items=0, overlap=1, gold=3, name="B")
    async with services.sessionmaker() as s:
        (await s.get_one(Campaign, first)).gold_rate = 0.5
        await s.commit()
    [worker] = await make_workers(services, 1)
    campaigns = []
    for _ in range(6):
        task = await services.tasks.next_task(worker.id)
        assert task is not None
        campaigns.append(task.campaign_name)
        await services.tasks.record_answer(worker.telegram_id, task.assignment_id, 0)
    assert campaigns == ["A"] * 6  # B's gold never shows up in A's flow
    async with services.sessionmaker() as s:
        gold_seen = await s.scalar(
            select(func.count()).select_from(Answer).join(Item, Item.id == Answer.item_id)
            .where(Item.is_gold.is_(True)))
    assert gold_seen == 2 and other


async def first_items(services: Services, tasks: TaskService,
                      workers: list[WorkerView]) -> list[int]:
    """Each worker in turn takes one task; the items they got."""
    got = []
    for w in workers:
        task = await tasks.next_task(w.id)
        assert task is not None
        async with services.sessionmaker() as s:
            got.append((await s.get_one(Assignment, task.assignment_id)).item_id)
    return got


async def test_accounts_asking_in_turn_do_not_fill_an_item_alone(services: Services,
                                                                 clock: Clock) -> None:
    """In strict order, three accounts asking one after another get the same item and decide
    it among themselves; drawn among the best 8 candidates, they are spread out."""
    await make_campaign(services, items=30, overlap=3)
    workers = await make_workers(services, 30)
    strict = TaskService(services.sessionmaker, TaskSettings(spread=1), clock)
    spread = TaskService(services.sessionmaker, TaskSettings(spread=8), clock,
                         rng=random.Random(5))
    in_order = await first_items(services, strict, workers[:3])
    assert len(set(in_order)) == 1
    trios = [await first_items(services, spread, workers[k:k + 3]) for k in range(3, 30, 3)]
    assert sum(len(set(t)) == 1 for t in trios) <= 2  # a whole trio on one item is now rare
    # Spreading never overfills: every item still gets exactly its overlap in the end.
    for w in workers:
        while (task := await spread.next_task(w.id)) is not None:
            await spread.record_answer(w.telegram_id, task.assignment_id, 0)
    async with services.sessionmaker() as s:
        counts = list(await s.scalars(select(func.count()).select_from(Answer)
                                      .group_by(Answer.item_id)))
    assert sorted(set(counts)) == [3] and len(counts) == 30


async def test_gold_a_removed_worker_got_wrong_is_served_first(services: Services,
                                                               clock: Clock) -> None:
    """An account still copying a removed one meets the removed one's mistakes on gold first.
    That gold item has an answer already, so in plain order it would come after the eleven
    unanswered ones (and outside the random pick among the first eight)."""
    services.tasks._settings.gold_rate = 1.0
    cid = await make_campaign(services, items=4, overlap=3, gold=12)
    removed, *others = await make_workers(services, 4)
    task = await services.tasks.next_task(removed.id)
    assert task is not None
    async with services.sessionmaker() as s:
        trap = await s.get_one(Item, (await s.get_one(Assignment, task.assignment_id)).item_id)
    options = await options_of(services, cid)
    wrong = next(n for n, o in enumerate(options) if o != trap.gold_label)
    await services.tasks.record_answer(removed.telegram_id, task.assignment_id, wrong)
    async with services.sessionmaker() as s:
        (await get_standing(s, removed.id, cid)).removed_at = clock()
        await s.commit()
    for worker in others:
        task = await services.tasks.next_task(worker.id)
        assert task is not None and task.text == trap.text
        await services.tasks.record_answer(worker.telegram_id, task.assignment_id, 0)


async def options_of(services: Services, campaign_id: int) -> list[str]:
    async with services.sessionmaker() as s:
        return list((await s.get_one(Campaign, campaign_id)).label_options)
