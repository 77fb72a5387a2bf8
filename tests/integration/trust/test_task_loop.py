"""The trust pieces as the task loop uses them: training first, early gold, rules' notes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from agreemint.config import Settings, TrustSettings
from agreemint.runtime import Services, build_services
from agreemint.store.models import Assignment, Item
from tests.conftest import Clock
from tests.factories import OPTIONS, make_campaign, make_workers


def trusting(services: Services, tmp_path: Path, clock: Clock, **trust: object) -> Services:
    """The same database with production trust settings (plus `trust` overrides)."""
    settings = Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                        trust=TrustSettings(**trust))  # type: ignore[arg-type]
    return build_services(services.sessionmaker, settings, clock)


def right(text: str) -> int:
    return int(text.split()[-1]) % len(OPTIONS)  # as tests.factories labels gold


async def test_newcomer_trains_on_gold_then_gets_paid_items(
    services: Services, tmp_path: Path, clock: Clock
) -> None:
    live = trusting(services, tmp_path, clock, training_questions=2, training_pass=0.5)
    await make_campaign(live, items=3, overlap=1, gold=4)
    [worker] = await make_workers(live, 1)
    first = await live.tasks.next_task(worker.id)
    assert first is not None and first.training == "Training question 1 of 2"
    assert first.text is not None and first.text.startswith("gold")
    clock.advance(5)
    wrong = (right(first.text) + 1) % len(OPTIONS)
    receipt = await live.tasks.record_answer(worker.telegram_id, first.assignment_id, wrong)
    assert receipt.notes and f"The right answer is “{OPTIONS[right(first.text)]}”" in (
        receipt.notes[0])
    second = await live.tasks.next_task(worker.id)
    assert second is not None and second.training == "Training question 2 of 2"
    clock.advance(5)
    receipt = await live.tasks.record_answer(
        worker.telegram_id, second.assignment_id, right(second.text or ""))
    assert "You passed training" in receipt.notes[0]
    paid = await live.tasks.next_task(worker.id)
    assert paid is not None and paid.training is None
    # Training answers are neither aggregated nor paid: the balance doesn't count them.
    balance = await live.balance.balance(worker.id)
    assert balance.pending == 0


async def test_early_gold_comes_often_until_there_is_evidence(
    services: Services, tmp_path: Path, clock: Clock
) -> None:
    live = trusting(services, tmp_path, clock, training_questions=0, early_gold_answers=3,
                    early_gold_rate=0.5, limit_without_username=False)
    await make_campaign(live, items=20, overlap=1, gold=6)
    [worker] = await make_workers(live, 1)
    kinds = []
    for _ in range(12):
        task = await live.tasks.next_task(worker.id)
        assert task is not None
        clock.advance(5)
        await live.tasks.record_answer(worker.telegram_id, task.assignment_id, 0)
        async with live.sessionmaker() as s:
            item = await s.scalar(select(Item).join(Assignment, Assignment.item_id == Item.id)
                                  .where(Assignment.id == task.assignment_id))
            assert item is not None
            kinds.append(item.is_gold)
    # Every other task is gold until 3 gold answers exist, then the campaign's 10 %.
    assert kinds[:6] == [False, True] * 3
    assert sum(kinds[6:]) <= 1


async def test_a_rule_speaks_right_after_the_answer(
    services: Services, tmp_path: Path, clock: Clock
) -> None:
    live = trusting(services, tmp_path, clock, training_questions=0,
                    limit_without_username=False)
    await make_campaign(live, items=3, overlap=1)
    [worker] = await make_workers(live, 1)
    task = await live.tasks.next_task(worker.id)
    assert task is not None
    clock.advance(0.3)  # faster than anyone can read the task
    receipt = await live.tasks.record_answer(worker.telegram_id, task.assignment_id, 0)
    assert receipt.notes and "too fast" in receipt.notes[0].lower()
