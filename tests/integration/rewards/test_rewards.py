"""Ledger entries after a round: verified with the curve's amount, withheld with a reason."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from agreemint.multiplier import QualityCurve, multiplier_bps, quality_to_bps
from agreemint.runtime import Services
from agreemint.services.rewards import WEI_PER_MICRO, Decision, decide, posterior_quality
from agreemint.store.models import Answer, Item, WorkerQuality
from tests.integration.rewards.conftest import Rig
from tests.integration.rewards.helpers import (
    RATE_MICRO,
    count_entries,
    ledger,
    make_crowd,
    round_and_assess,
)

RATE = RATE_MICRO * WEI_PER_MICRO
CURVE = QualityCurve(6_000, 15_000)


def test_posterior_quality_needs_evidence() -> None:
    prior = (7.0, 3.0)
    assert posterior_quality(None, prior) == 0.7
    # Two lucky answers under the uniform prior: stored mean (1 + 2) / (2 + 2) = 0.75.
    lucky = WorkerQuality(accuracy=0.75, answers=2)
    assert abs(posterior_quality(lucky, prior) - 9 / 12) < 1e-9
    veteran = WorkerQuality(accuracy=(1 + 200) / 202, answers=200)
    assert posterior_quality(veteran, prior) > 0.97


def test_decide_gold_and_minimum() -> None:
    gold = Item(is_gold=True, gold_label="cat", resolved=False)
    assert decide(Answer(label="dog"), gold, RATE, 0.9, CURVE) == Decision(
        "withheld", reason="wrong on a gold question")
    right = decide(Answer(label="cat"), gold, RATE, 0.9, CURVE)
    assert right.status == "verified"
    assert right.amount_wei == RATE * multiplier_bps(CURVE, quality_to_bps(0.9)) // 10_000
    item = Item(is_gold=False, resolved=True, consensus_label="cat")
    low = decide(Answer(label="cat"), item, RATE, 0.52, CURVE)
    assert (low.status, low.reason) == ("withheld", "quality below the minimum (0.52 < 0.60)")
    assert decide(Answer(label="cat"), Item(is_gold=False, resolved=False), RATE, 0.9,
                  CURVE).status == "pending"


async def test_assess_decides_every_answer_once(rig: Rig) -> None:
    services = rig.services
    # Worker 2 disagrees on item 0; item 3 gets only two answers (overlap 3): it stays pending.
    crowd = await make_crowd(services, items=3, workers=3, wrong={2: {"item 0"}})
    extra = await make_crowd(services, items=1, workers=0)
    assert extra.worker_ids == []
    await round_and_assess(services, crowd)
    entries = await ledger(services)
    assert len(entries) == 9
    by_status = {s: [e for e in entries if e.status == s] for s in ("verified", "withheld")}
    assert len(by_status["verified"]) == 8 and len(by_status["withheld"]) == 1
    [withheld] = by_status["withheld"]
    assert withheld.worker_id == crowd.worker_ids[2]
    assert withheld.reason == "disagreed with the consensus label (cat)"
    for e in by_status["verified"]:
        assert e.quality_bps is not None and e.multiplier_bps is not None
        assert e.multiplier_bps == multiplier_bps(services.rewards._curve, e.quality_bps)
        assert e.amount_wei == RATE * e.multiplier_bps // 10_000 > 0
        assert e.quality_bps < 9_000  # three answers are not enough for the top of the curve
    # Re-running assess, concurrently too, changes nothing.
    assert crowd.round_id is not None
    again = await asyncio.gather(services.rewards.assess(crowd.round_id),
                                 services.rewards.assess(crowd.round_id))
    assert all(a.verified == a.withheld == a.pending == 0 for a in again)
    assert await count_entries(services) == 9


async def test_pending_entries_resolve_later_without_a_second_entry(rig: Rig) -> None:
    services = rig.services
    crowd = await make_crowd(services, items=2, overlap=2, workers=2)
    # Hide one answer of item 1 from the round's due check: it stays unresolved, its entries
    # pending; once it is due, the same entries move to verified.
    await _set_answers_count(services, "item 1", 1)
    await round_and_assess(services, crowd)
    entries = await ledger(services)
    assert sorted(e.status for e in entries) == ["pending", "pending", "verified", "verified"]
    await _set_answers_count(services, "item 1", 2)
    await round_and_assess(services, crowd)
    assert [e.status for e in await ledger(services)] == ["verified"] * 4
    assert await count_entries(services) == 4


async def _set_answers_count(services: Services, text: str, count: int) -> None:
    async with services.sessionmaker() as s:
        await s.execute(update(Item).where(Item.text == text).values(answers_count=count))
        await s.commit()


async def test_gold_answers_are_verified_when_right(rig: Rig) -> None:
    services = rig.services
    services.tasks._settings.gold_rate = 0.5
    crowd = await make_crowd(services, items=3, gold=1, workers=3, wrong={1: {"gold 0"}})
    await round_and_assess(services, crowd)
    async with services.sessionmaker() as s:
        gold_entries = (await s.execute(
            select(Answer.worker_id, Item.is_gold)
            .join(Item, Item.id == Answer.item_id).where(Item.is_gold.is_(True)))).all()
    assert len(gold_entries) == 3
    entries = {(e.worker_id, e.status, e.reason) for e in await ledger(services)}
    assert (crowd.worker_ids[1], "withheld", "wrong on a gold question") in entries
    assert len([e for e in await ledger(services, "verified")]) == 11
