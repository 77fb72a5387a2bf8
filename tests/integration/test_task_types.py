"""Multiple choice and free text: storing answers, rounds, rewards, gold and exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from agreemint.domain import ItemKind, TaskType, canonical_label, join_selection
from agreemint.errors import AlreadyAnswered, ForeignAssignment, InvalidInput, InvalidOption
from agreemint.runtime import Services
from agreemint.services.campaigns import CampaignSpec, gold_options
from agreemint.services.itemfile import ItemSpec, parse_items
from agreemint.store.models import Answer, Item, LedgerEntry
from tests.factories import make_workers

TOPPINGS = ("cheese", "ham", "olives")


async def make(
    services: Services, task_type: TaskType, options: tuple[str, ...], items: int = 2,
    overlap: int = 3, gold: tuple[str, ...] = (),
) -> int:
    services.tasks._settings.gold_rate = 0.5 if gold else 0.0
    specs = [ItemSpec(f"i{n}", ItemKind.TEXT, f"item {n}", None, None) for n in range(items)]
    specs += [ItemSpec(f"g{n}", ItemKind.TEXT, f"gold {n}", None, g) for n, g in enumerate(gold)]
    spec = CampaignSpec("Mixed", "Answer.", options, overlap=overlap, task_type=task_type,
                        reward_rate_micro=1000)
    return await services.campaigns.create(spec, specs)


async def ledger(services: Services) -> dict[tuple[int, str], LedgerEntry]:
    """(worker id, item text) -> entry."""
    async with services.sessionmaker() as s:
        rows = await s.execute(
            select(LedgerEntry, Answer.worker_id, Item.text)
            .join(Answer, Answer.id == LedgerEntry.answer_id)
            .join(Item, Item.id == Answer.item_id))
        return {(w, str(t)): e for e, w, t in rows}


# ------------------------------------------------------------------ specs and gold


def test_spec_rules_per_type() -> None:
    multi = CampaignSpec("M", "", ("a", "b"), task_type=TaskType.MULTIPLE_CHOICE)
    multi.check()
    CampaignSpec("F", "", (), task_type=TaskType.FREE_TEXT).check()
    for bad in (
        CampaignSpec("M", "", ("a", "b+c"), task_type=TaskType.MULTIPLE_CHOICE),
        CampaignSpec("M", "", tuple(str(n) for n in range(11)),
                     task_type=TaskType.MULTIPLE_CHOICE),
        CampaignSpec("M", "", tuple(f"{n}" * 60 for n in range(4)),
                     task_type=TaskType.MULTIPLE_CHOICE),  # joined > 200 characters
        CampaignSpec("F", "", ("a", "b"), task_type=TaskType.FREE_TEXT),
        CampaignSpec("S", "", ("a",)),
    ):
        with pytest.raises(InvalidInput):
            bad.check()


def test_canonical_labels() -> None:
    assert join_selection(TOPPINGS, 0b101) == "cheese + olives"
    mc = TaskType.MULTIPLE_CHOICE
    assert canonical_label(mc, TOPPINGS, "olives+cheese") == "cheese + olives"
    assert canonical_label(mc, TOPPINGS, "olives + pineapple") is None
    assert canonical_label(mc, TOPPINGS, "ham + ham") is None
    assert canonical_label(TaskType.FREE_TEXT, (), "  New   YORK ") == "new york"
    assert canonical_label(TaskType.FREE_TEXT, (), "x" * 201) is None
    assert canonical_label(TaskType.SINGLE_CHOICE, TOPPINGS, "ham + cheese") is None


def test_item_file_gold_checked_by_type(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text,gold\n1,a,olives + ham\n2,b,\n", encoding="utf-8")
    items = parse_items(path, gold_options(TaskType.MULTIPLE_CHOICE, TOPPINGS))
    assert items[0].gold_label == "olives + ham"
    path.write_text("id,text,gold\n1,a,Paris\n", encoding="utf-8")
    assert parse_items(path, gold_options(TaskType.FREE_TEXT, ()))[0].gold_label == "Paris"
    path.write_text("id,text,gold\n1,a,olives + pineapple\n", encoding="utf-8")
    with pytest.raises(InvalidInput):
        parse_items(path, gold_options(TaskType.MULTIPLE_CHOICE, TOPPINGS))


async def test_gold_stored_canonical(services: Services) -> None:
    await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, gold=("olives + cheese",))
    await make(services, TaskType.FREE_TEXT, (), gold=("  Paris ",))
    async with services.sessionmaker() as s:
        golds = sorted(g for g in await s.scalars(select(Item.gold_label)) if g)
    assert golds == ["cheese + olives", "paris"]
    with pytest.raises(InvalidInput):
        await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, gold=("pineapple",))


# ------------------------------------------------------------------ multiple choice


async def test_multiple_choice_answers_and_bad_input(services: Services) -> None:
    await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, items=1)
    [ann, bob] = await make_workers(services, 2)
    task = await services.tasks.next_task(ann.id)
    assert task is not None and task.task_type is TaskType.MULTIPLE_CHOICE
    tid = task.assignment_id
    assert (await services.tasks.check_selection(ann.telegram_id, tid, 0b11)).options == TOPPINGS
    with pytest.raises(InvalidInput):  # Done with nothing selected
        await services.tasks.record_selection(ann.telegram_id, tid, 0)
    with pytest.raises(InvalidOption):  # a bit past the options
        await services.tasks.record_selection(ann.telegram_id, tid, 0b1000)
    with pytest.raises(InvalidOption):  # a single-choice tap on a multiple-choice task
        await services.tasks.record_answer(ann.telegram_id, tid, 0)
    with pytest.raises(ForeignAssignment):
        await services.tasks.check_selection(bob.telegram_id, tid, 1)
    receipt = await services.tasks.record_selection(ann.telegram_id, tid, 0b101)
    assert receipt.option == "cheese + olives"
    with pytest.raises(AlreadyAnswered):
        await services.tasks.record_selection(ann.telegram_id, tid, 0b1)
    with pytest.raises(AlreadyAnswered):
        await services.tasks.check_selection(ann.telegram_id, tid, 0b1)
    async with services.sessionmaker() as s:
        assert list(await s.scalars(select(Answer.label))) == ["cheese + olives"]


async def test_multiple_choice_round_rewards_and_export(services: Services, tmp_path: Path
                                                        ) -> None:
    campaign = await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, items=2)
    workers = await make_workers(services, 3)
    picks = {"item 0": [0b011, 0b011, 0b001], "item 1": [0b100, 0b100, 0b100]}
    for k, w in enumerate(workers):
        while (task := await services.tasks.next_task(w.id)) is not None:
            await services.tasks.record_selection(w.telegram_id, task.assignment_id,
                                                  picks[task.text or ""][k])
    summary = await services.rounds.run(campaign)
    assert summary is not None and summary.items_resolved == 2
    async with services.sessionmaker() as s:
        labels = {i.text: i.consensus_label for i in await s.scalars(select(Item))}
    assert labels == {"item 0": "cheese + ham", "item 1": "olives"}
    await services.rewards.assess(summary.round_id)
    entries = await ledger(services)
    assert entries[(workers[0].id, "item 0")].status == "verified"
    odd = entries[(workers[2].id, "item 0")]
    assert odd.status == "withheld" and "cheese + ham" in (odd.reason or "")
    out = tmp_path / "ls.json"
    await services.exports.write(campaign, "labelstudio", out)
    tasks = {t["data"]["text"]: t for t in json.loads(out.read_text())}
    value = tasks["item 0"]["predictions"][0]["result"][0]["value"]
    assert value == {"choices": ["cheese", "ham"]}


async def test_multiple_choice_gold(services: Services) -> None:
    await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, items=2, overlap=2,
               gold=("ham + cheese",))
    [right, wrong] = await make_workers(services, 2)
    for w, mask in ((right, 0b011), (wrong, 0b001)):
        while (task := await services.tasks.next_task(w.id)) is not None:
            await services.tasks.record_selection(w.telegram_id, task.assignment_id, mask)
    [summary] = await services.rounds.run_all()
    await services.rewards.assess(summary.round_id)
    entries = await ledger(services)
    assert entries[(right.id, "gold 0")].status == "verified"
    assert entries[(wrong.id, "gold 0")].reason == "wrong on a gold question"


# ------------------------------------------------------------------ free text


async def test_free_text_answers_and_bad_input(services: Services) -> None:
    await make(services, TaskType.FREE_TEXT, (), items=1)
    [ann, bob] = await make_workers(services, 2)
    assert await services.tasks.open_free_text(ann.id) is None  # nothing issued yet
    task = await services.tasks.next_task(ann.id)
    assert task is not None and task.task_type is TaskType.FREE_TEXT and task.options == ()
    assert await services.tasks.open_free_text(ann.id) == task.assignment_id
    tid = task.assignment_id
    for bad in ("   ", "x" * 201):
        with pytest.raises(InvalidInput):
            await services.tasks.record_text(ann.telegram_id, tid, bad)
    with pytest.raises(ForeignAssignment):
        await services.tasks.record_text(bob.telegram_id, tid, "Paris")
    with pytest.raises(InvalidOption):
        await services.tasks.record_answer(ann.telegram_id, tid, 0)
    receipt = await services.tasks.record_text(ann.telegram_id, tid, "  New   York ")
    assert receipt.option == "New York"
    with pytest.raises(AlreadyAnswered):
        await services.tasks.record_text(ann.telegram_id, tid, "Boston")
    assert await services.tasks.open_free_text(ann.id) is None
    async with services.sessionmaker() as s:
        assert list(await s.scalars(select(Answer.label))) == ["new york"]


async def test_open_free_text_only_for_free_text_tasks(services: Services) -> None:
    await make(services, TaskType.MULTIPLE_CHOICE, TOPPINGS, items=1)
    [ann] = await make_workers(services, 1)
    assert await services.tasks.next_task(ann.id) is not None
    assert await services.tasks.open_free_text(ann.id) is None


async def test_free_text_round_rewards_and_export(services: Services, tmp_path: Path) -> None:
    campaign = await make(services, TaskType.FREE_TEXT, (), items=2, gold=("PARIS",))
    services.tasks._settings.gold_rate = 1.0  # every worker meets the gold item first
    workers = await make_workers(services, 3)
    says = {"item 0": ["Rome", "rome ", "Milan"], "item 1": ["Oslo", "OSLO", "oslo"],
            "gold 0": ["Paris", "paris", "Lyon"]}
    for k, w in enumerate(workers):
        while (task := await services.tasks.next_task(w.id)) is not None:
            await services.tasks.record_text(w.telegram_id, task.assignment_id,
                                             says[task.text or ""][k])
    summary = await services.rounds.run(campaign)
    assert summary is not None and summary.items_resolved == 2
    async with services.sessionmaker() as s:
        labels = {i.text: i.consensus_label for i in await s.scalars(select(Item))}
    assert labels["item 0"] == "rome" and labels["item 1"] == "oslo"
    await services.rewards.assess(summary.round_id)
    entries = await ledger(services)
    assert entries[(workers[1].id, "item 0")].status == "verified"
    assert entries[(workers[2].id, "item 0")].status == "withheld"
    assert entries[(workers[0].id, "gold 0")].status == "verified"
    assert entries[(workers[2].id, "gold 0")].reason == "wrong on a gold question"
    out = tmp_path / "ls.json"
    await services.exports.write(campaign, "labelstudio", out)
    tasks = {t["data"]["text"]: t for t in json.loads(out.read_text())}
    result = tasks["item 1"]["predictions"][0]["result"][0]
    assert result["type"] == "textarea" and result["value"] == {"text": ["oslo"]}
