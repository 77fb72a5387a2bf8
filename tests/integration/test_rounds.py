"""Consensus rounds over stored answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import select

import consensus
from agreemint.runtime import Services
from agreemint.services.rounds import AGGREGATORS
from agreemint.store.models import AuditEntry, ConsensusRound, Item, RoundResult, WorkerQuality
from tests.factories import make_campaign, make_workers


async def answer(services: Services, worker_tg: int, worker_id: int, choose: dict[str, int]
                 ) -> None:
    """Answer every task offered, picking the option index `choose[item text]`."""
    while (task := await services.tasks.next_task(worker_id)) is not None:
        await services.tasks.record_answer(worker_tg, task.assignment_id,
                                           choose.get(task.text or "", 0))


TRUTH = {"item 0": 0, "item 1": 1, "item 2": 2}


async def two_right_one_odd(services: Services) -> tuple[list[Any], Any]:
    """Three items at overlap 3: two workers answer TRUTH, a third differs on item 0."""
    services.tasks._settings.gold_rate = 0.0
    await make_campaign(services, items=3, overlap=3)
    good = await make_workers(services, 2)
    [odd] = await make_workers(services, 1, start=5000)
    for w in good:
        await answer(services, w.telegram_id, w.id, TRUTH)
    await answer(services, odd.telegram_id, odd.id, {"item 0": 1, "item 1": 1, "item 2": 2})
    return good, odd


async def test_round_labels_items_at_overlap_with_agreement(services: Services) -> None:
    good, odd = await two_right_one_odd(services)
    truth = TRUTH
    [summary] = await services.rounds.run_all()
    assert summary.items_resolved == 3
    async with services.sessionmaker() as s:
        items = {i.text: i for i in await s.scalars(select(Item))}
        assert {t: items[t].consensus_label for t in truth} == {
            "item 0": "cat", "item 1": "dog", "item 2": "bird"}
        assert all(i.resolved for i in items.values())
        results = {r.item_id: r for r in await s.scalars(select(RoundResult))}
        assert round(results[items["item 0"].id].agreement, 3) == round(2 / 3, 3)
        assert results[items["item 1"].id].agreement == 1.0
        quality = {q.worker_id: q for q in await s.scalars(select(WorkerQuality))}
        assert quality[odd.id].accuracy < quality[good[0].id].accuracy
        assert quality[odd.id].accuracy_low <= quality[odd.id].accuracy <= quality[
            odd.id].accuracy_high
        audit = list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action == "round.completed")))
        assert len(audit) == 1 and audit[0].data["items"] == 3
        # The default names the model it chose for this campaign.
        [round_] = list(await s.scalars(select(ConsensusRound)))
        assert round_.aggregator == audit[0].data["aggregator"]
        assert round_.aggregator in {"Committee:AutoLogLinearDawidSkene",
                                     "Committee:MinimaxEntropy"}
    # nothing new is due: no second round
    assert await services.rounds.run_all() == []


async def test_items_below_overlap_wait(services: Services) -> None:
    await make_campaign(services, items=2, overlap=3)
    [w] = await make_workers(services, 1)
    await answer(services, w.telegram_id, w.id, {})
    assert await services.rounds.run_all() == []


async def test_dynamic_overlap_asks_for_more_answers_only_where_unsure(services: Services) -> None:
    from agreemint.store.models import Campaign

    services.tasks._settings.gold_rate = 0.0
    campaign_id = await make_campaign(services, items=2, overlap=2)
    async with services.sessionmaker() as s:
        campaign = await s.get_one(Campaign, campaign_id)
        campaign.max_overlap, campaign.target_confidence = 4, 0.9
        await s.commit()
    workers = await make_workers(services, 4)
    # two workers agree on item 0 and disagree on item 1
    await answer(services, workers[0].telegram_id, workers[0].id, {"item 0": 0, "item 1": 0})
    await answer(services, workers[1].telegram_id, workers[1].id, {"item 0": 0, "item 1": 1})
    first = await services.rounds.run_all()
    async with services.sessionmaker() as s:
        items = {i.text: i for i in await s.scalars(select(Item))}
    if first:  # item 0 may already be confident enough
        assert items["item 0"].resolved
    assert not items["item 1"].resolved
    assert items["item 1"].answers_wanted == 3  # one more answer, then look again
    # more workers come; nothing ever gets more than max_overlap answers, and every item ends
    # resolved once it is confident or has max_overlap answers
    for w in workers[2:]:
        await answer(services, w.telegram_id, w.id, {"item 0": 0, "item 1": 1})
        await services.rounds.run_all()
    async with services.sessionmaker() as s:
        items = {i.text: i for i in await s.scalars(select(Item))}
    assert items["item 1"].answers_count > 2  # the contested item got more answers
    assert all(i.answers_count <= 4 for i in items.values())
    assert all(i.resolved for i in items.values())
    assert items["item 1"].consensus_label == "dog"


async def test_a_round_infers_outside_its_transaction(services: Services) -> None:
    """While the aggregator fits, a worker's tap is written at once (on SQLite every
    transaction holds the write lock), and an item another round labelled meanwhile is not
    labelled twice."""
    services.tasks._settings.gold_rate = 0.0
    await make_campaign(services, items=3, overlap=2)
    workers = await make_workers(services, 2)
    for w in workers:
        await answer(services, w.telegram_id, w.id, {})
    fitting, release = threading.Event(), threading.Event()

    class Slow(consensus.MajorityVote):
        def fit(self, *args: Any, **kwargs: Any) -> Slow:
            fitting.set()
            release.wait(10)
            super().fit(*args, **kwargs)
            return self

    services.rounds._make_aggregator = Slow  # type: ignore[assignment]
    running = asyncio.create_task(services.rounds.run_all())
    await asyncio.to_thread(fitting.wait, 10)
    async with asyncio.timeout(3):  # the busy timeout is 5 s: a held lock would show here
        async with services.sessionmaker() as s:
            first = await s.scalar(select(Item).where(Item.text == "item 0"))
            assert first is not None
            first.resolved, first.consensus_label = True, "dog"  # "another round"
            await s.commit()
        joined = await services.workers.register(6000, "Late", "late", "en")  # a new row
    release.set()
    [summary] = await running
    assert joined.id > 0 and summary.items_resolved == 2
    async with services.sessionmaker() as s:
        labels = {i.text: i.consensus_label for i in await s.scalars(select(Item))}
        results = len((await s.scalars(select(RoundResult))).all())
    assert labels["item 0"] == "dog" and results == 2


async def test_each_round_warm_starts_from_the_campaigns_previous_fit(services: Services) -> None:
    """A growing campaign's next round starts from the last fit (the default then reuses its
    model choice), not from scratch."""
    services.tasks._settings.gold_rate = 0.0
    cid = await make_campaign(services, items=2, overlap=2)
    seen: list[object] = []

    class Spy(consensus.MajorityVote):
        def fit(self, *args: Any, **kwargs: Any) -> Spy:
            seen.append(kwargs.get("init"))
            super().fit(*args, **kwargs)
            return self

    services.rounds._make_aggregator = Spy  # type: ignore[assignment]
    first = await make_workers(services, 2)
    for w in first:
        await answer(services, w.telegram_id, w.id, {})
    assert await services.rounds.run(cid) is not None
    async with services.sessionmaker() as s:
        s.add(Item(campaign_id=cid, external_id="i9", text="item 9"))
        await s.commit()
    for w in await make_workers(services, 2, start=7000):
        await answer(services, w.telegram_id, w.id, {})
    assert await services.rounds.run(cid) is not None
    assert seen[0] is None and isinstance(seen[1], Spy) and seen[1] is not seen[0]


@pytest.mark.parametrize("name", sorted(AGGREGATORS))
async def test_every_aggregator_the_settings_accept_labels_a_round(
    services: Services, name: str
) -> None:
    # CONSENSUS__AGGREGATOR accepts exactly these names (test_config checks): each must run
    services.rounds._make_aggregator = AGGREGATORS[name]
    await two_right_one_odd(services)
    [summary] = await services.rounds.run_all()
    assert summary.items_resolved == 3
    async with services.sessionmaker() as s:
        labels = {i.text: i.consensus_label for i in await s.scalars(select(Item))}
        assert (labels["item 1"], labels["item 2"]) == ("dog", "bird")  # unanimous
        # 2-1 on three items: MinimaxEntropy's per-item terms side with the odd worker here
        assert labels["item 0"] in {"cat", "dog"}
        [round_] = list(await s.scalars(select(ConsensusRound)))
        made = AGGREGATORS[name]()
        assert round_.aggregator.split(":")[0] == type(made).__name__
