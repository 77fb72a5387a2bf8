"""Fraud benchmark: honest workers against spammers, a sybil farm and a colluding group.

    python benchmarks/fraud.py                 # both runs, seed 7
    python benchmarks/fraud.py --seed 3 --items 240 --gold 40   # a small campaign

One campaign (1,000 items and 160 gold by default, 4 labels, overlap 3 up to 5, 1 token per
verified label) is worked through the real services on a temporary SQLite database, with a
simulated clock, twice: with the trust defences (training, rules, sybil limits, tasks drawn at
random among the best candidates, collusion and ring review with a manager who confirms every
case the detector opens) and without them (the same crowd, same seed; tasks handed out strictly
in order, with no training, rules or review). Nothing is mocked but time and the people:

- honest: accuracy 0.6-0.95, 3-12 s per answer;
- spammers: tap at random, fast, keep retrying training after each cool-down;
- a sybil farm: many new accounts without a username, run by one operator who passes training
  by hand, then answers every item with one shared rule (so the accounts agree perfectly);
- colluders: a leader (accuracy 0.7) and followers who copy the leader's answer to every item.

Tokens are what the ledger verified or paid (held rewards count only once released). Prints a
table per run and ends with one JSON line: adversary_token_share (spammers + farm + colluders,
with defences), honest_loss (relative drop in honest tokens with vs without defences, negative
= honest workers earned more), and label accuracy in both runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

# `python benchmarks/fraud.py` puts this folder first on sys.path, where benchmarks/consensus.py
# would shadow the consensus package the services import.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sqlalchemy import select, update  # noqa: E402

from agreemint.config import Settings  # noqa: E402
from agreemint.domain import ItemKind  # noqa: E402
from agreemint.runtime import Services, build_services  # noqa: E402
from agreemint.services.campaign_control import Viewer  # noqa: E402
from agreemint.services.campaigns import CampaignSpec  # noqa: E402
from agreemint.services.itemfile import ItemSpec  # noqa: E402
from agreemint.services.tasks import TaskService  # noqa: E402
from agreemint.store import migrate  # noqa: E402
from agreemint.store.engine import create_engine, create_sessionmaker  # noqa: E402
from agreemint.store.models import Item, LedgerEntry, Worker  # noqa: E402

OPTIONS = ("cat", "dog", "bird", "fish")
GROUPS = ("honest", "spammer", "farm", "colluder")
MANAGER = Viewer(telegram_id=1, worker_id=None, admin=True)
ROUND_EVERY = 150  # answers between consensus rounds (the scheduler's job in production)


class SimClock:
    """Simulated time: the services read it, the simulation moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Person:
    telegram_id: int
    group: str
    accuracy: float
    username: str | None
    seconds: tuple[float, float]  # answer time range
    worker_id: int = 0
    done: bool = False
    answers: int = 0


@dataclass
class World:
    truth: dict[str, str]  # item text -> true label
    people: list[Person]
    rng: random.Random
    leader_view: dict[str, str] = field(default_factory=dict)


def make_world(seed: int, items: int, gold: int) -> tuple[World, list[ItemSpec]]:
    rng = random.Random(seed)
    truth = {f"item {n}": rng.choice(OPTIONS) for n in range(items + gold)}
    specs = [ItemSpec(f"i{n}", ItemKind.TEXT, f"item {n}", None, None) for n in range(items)]
    specs += [ItemSpec(f"g{n}", ItemKind.TEXT, f"item {items + n}", None,
                       truth[f"item {items + n}"]) for n in range(gold)]
    people: list[Person] = []
    tid = 10_000
    for _ in range(30):
        people.append(Person(tid, "honest", rng.uniform(0.6, 0.95), f"h{tid}", (3.0, 12.0)))
        tid += 1
    for _ in range(8):
        people.append(Person(tid, "spammer", 0.0, f"s{tid}", (0.4, 2.5)))
        tid += 1
    for _ in range(15):
        people.append(Person(tid, "farm", 0.0, None, (2.0, 4.0)))
        tid += 1
    for n in range(6):
        people.append(Person(tid, "colluder", 0.7 if n == 0 else 0.0, f"c{tid}", (3.0, 6.0)))
        tid += 1
    world = World(truth, people, rng)
    # What the colluders' leader believes about each item; followers copy it.
    for text, label in truth.items():
        wrong = [o for o in OPTIONS if o != label]
        world.leader_view[text] = label if rng.random() < 0.7 else rng.choice(wrong)
    return world, specs


def farm_rule(text: str) -> str:
    """The farm's one strategy: a fixed pseudo-random label per item, shared by every account."""
    return OPTIONS[hashlib.sha256(text.encode()).digest()[0] % len(OPTIONS)]


def choose(world: World, person: Person, text: str, training: bool) -> str:
    true = world.truth[text]
    wrong = [o for o in OPTIONS if o != true]
    if person.group == "honest":
        return true if world.rng.random() < person.accuracy else world.rng.choice(wrong)
    if person.group == "spammer":
        return world.rng.choice(OPTIONS)
    if training:  # the farm's operator and the colluders' leader answer training by hand
        return true if world.rng.random() < 0.9 else world.rng.choice(wrong)
    if person.group == "farm":
        return farm_rule(text)
    return world.leader_view[text]


@dataclass
class Outcome:
    tokens: dict[str, int]
    accuracy: float
    resolved: float
    answers: int
    seconds: float


async def simulate(seed: int, items: int, gold: int, defences: bool) -> Outcome:
    started = time.perf_counter()
    world, specs = make_world(seed, items, gold)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'fraud.sqlite3'}"
        await migrate.upgrade(url)
        engine = create_engine(url)
        try:
            clock = SimClock()
            settings = Settings(_env_file=None, data_dir=Path(tmp))
            services = build_services(create_sessionmaker(engine), settings, clock,
                                      rng=random.Random(seed))
            if not defences:
                services = replace(services, tasks=TaskService(
                    services.sessionmaker, settings.tasks.model_copy(update={"spread": 1}),
                    clock))
            campaign = await services.campaigns.create(CampaignSpec(
                "Pets", "Which animal is it?", OPTIONS, overlap=3, reward_rate_micro=1_000_000,
                max_overlap=5, target_confidence=0.9, gold_rate=0.12), specs)
            await register(services, world, clock)
            answers = await work(services, world, clock, campaign, defences)
            await consensus(services, campaign, defences)
            return await measure(services, world, campaign, answers,
                                 time.perf_counter() - started)
        finally:
            await engine.dispose()


async def register(services: Services, world: World, clock: SimClock) -> None:
    for p in world.people:
        view = await services.workers.register(p.telegram_id, f"P{p.telegram_id}", p.username,
                                               "en")
        p.worker_id = view.id
    # Honest workers, spammers and colluders have long-standing accounts; the farm's are new.
    async with services.sessionmaker() as s:
        old = [p.worker_id for p in world.people if p.group != "farm"]
        await s.execute(update(Worker).where(Worker.id.in_(old))
                        .values(created_at=clock() - timedelta(days=400)))
        await s.commit()


async def work(
    services: Services, world: World, clock: SimClock, campaign: int, defences: bool
) -> int:
    answers = 0
    idle_passes = 0
    while idle_passes < 3:
        progressed = False
        for unit in units(world):
            for person in unit:
                task = await services.tasks.next_task(person.worker_id)
                if task is None:
                    continue
                progressed = True
                clock.advance(world.rng.uniform(*person.seconds))
                label = choose(world, person, task.text or "", task.training is not None)
                await services.tasks.record_answer(
                    person.telegram_id, task.assignment_id, OPTIONS.index(label))
                person.answers += 1
                answers += 1
                if answers % ROUND_EVERY == 0:
                    await consensus(services, campaign, defences)
        if progressed:
            idle_passes = 0
        else:
            idle_passes += 1
            await consensus(services, campaign, defences)
            clock.advance(3600)  # a quiet hour: pauses and training cool-downs run out
    return answers


def units(world: World) -> list[list[Person]]:
    """Who acts next, in a fresh random order each pass. The farm's operator works its
    accounts one after another, and the colluders ask for tasks right after their leader:
    asking in sequence lands them on the same items (items nearest their overlap go first),
    which is how a group gets to outvote honest workers."""
    solo = [[p] for p in world.people if p.group in ("honest", "spammer")]
    blocks = [[p for p in world.people if p.group == g] for g in ("farm", "colluder")]
    order = solo + blocks
    world.rng.shuffle(order)
    return order


async def consensus(services: Services, campaign: int, defences: bool) -> None:
    """What the scheduler does: a round, its rewards, and (with defences) the trust reviews;
    the manager confirms every collusion case the detector opens."""
    for summary in await services.rounds.run_all():
        await services.rewards.assess(summary.round_id)
    if not defences:
        return
    await services.collusion.scan(campaign)
    await services.gold_review.flag_bad_gold(campaign)
    for case in await services.review.open_cases(MANAGER):
        await services.review.confirm(case.id, MANAGER)


async def measure(
    services: Services, world: World, campaign: int, answers: int, seconds: float
) -> Outcome:
    group_of = {p.worker_id: p.group for p in world.people}
    tokens: dict[str, int] = defaultdict(int)
    async with services.sessionmaker() as s:
        for worker_id, amount in await s.execute(
            select(LedgerEntry.worker_id, LedgerEntry.amount_wei)
            .where(LedgerEntry.status.in_(("verified", "paid")))
        ):
            tokens[group_of[worker_id]] += int(amount)
        rows = (await s.execute(select(Item.text, Item.consensus_label, Item.resolved)
                                .where(Item.campaign_id == campaign,
                                       Item.is_gold.is_(False)))).all()
    right = sum(bool(r.resolved and r.consensus_label == world.truth[r.text]) for r in rows)
    resolved = sum(bool(r.resolved) for r in rows)
    return Outcome(dict(tokens), right / len(rows), resolved / len(rows), answers, seconds)


def table(title: str, out: Outcome) -> None:
    total = sum(out.tokens.values()) or 1
    print(f"\n{title}: {out.answers} answers, {out.seconds:.1f} s, "
          f"labels right {out.accuracy:.1%} (resolved {out.resolved:.1%})")
    print(f"{'group':<10} {'tokens':>10} {'share':>8}")
    for group in GROUPS:
        amount = out.tokens.get(group, 0)
        print(f"{group:<10} {amount / 1e18:>10.2f} {amount / total:>8.2%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--gold", type=int, default=160)
    args = parser.parse_args()
    without = asyncio.run(simulate(args.seed, args.items, args.gold, defences=False))
    with_ = asyncio.run(simulate(args.seed, args.items, args.gold, defences=True))
    table("without defences", without)
    table("with defences", with_)
    total = sum(with_.tokens.values()) or 1
    adversary = sum(with_.tokens.get(g, 0) for g in GROUPS[1:])
    honest_without = without.tokens.get("honest", 0) or 1
    out = {
        "adversary_token_share": round(adversary / total, 4),
        "adversary_token_share_without": round(
            sum(without.tokens.get(g, 0) for g in GROUPS[1:])
            / (sum(without.tokens.values()) or 1), 4),
        "honest_loss": round(1 - with_.tokens.get("honest", 0) / honest_without, 4),
        "accuracy_with": round(with_.accuracy, 4),
        "accuracy_without": round(without.accuracy, 4),
        "resolved_with": round(with_.resolved, 4),
        "resolved_without": round(without.resolved, 4),
        "share_by_group_with": {g: round(with_.tokens.get(g, 0) / total, 4) for g in GROUPS},
        "answers_with": with_.answers,
        "answers_without": without.answers,
        "seed": args.seed,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
