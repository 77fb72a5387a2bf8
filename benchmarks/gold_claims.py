"""Gold-claim benchmark: the paid-gold budget check (services/gold_budget.py) on a big campaign.

    python benchmarks/gold_claims.py                                  # 20k items, 2k gold
    python benchmarks/gold_claims.py --items 50000 --gold 5000 --answers 200000 --claims 300

A temporary SQLite database gets two funded, active campaigns of the same size, filled in bulk
(straight into the tables, not through the bot): `--items` items of which `--gold` are hidden
gold, half the regular items resolved (answered `overlap` times, paid), the other half still
open (0 to 2 answers, pending), and `--answers` task answers on gold, each with its ledger row
(three in four decided). Only the campaign being timed is active. The two differ only in where
the gold answers sit:

- below: half the gold items have one answer less than their own max answers and are served
  first (the gold with the fewest answers comes first), the other half hold the rest of the
  answers: a campaign whose gold is still pre-paid by the budget;
- full: the gold answers are spread over every gold item, all past their max answers: each
  gold turn must ask whether the budget has room for one more.

For each, `--claims` times:

- check: `affordable_gold` alone, on the first gold candidates (as many as a claim takes,
  `task_claim.CANDIDATES`), inside a write transaction (rolled back), as the claim runs it;
- claim: a new worker's first task through `TaskService.next_task` (every turn a gold turn:
  gold_rate 1.0), committed, then answered so the next worker meets the next gold.

Prints latency per check and per claim (median, p95) and claims per second (claims one after
another, as SQLite's one write lock runs them). Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# `python benchmarks/gold_claims.py` puts this folder first on sys.path, where
# benchmarks/consensus.py would shadow the consensus package the services import.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from sqlalchemy import case, func, insert, select, table, update  # noqa: E402

from agreemint.config import Settings  # noqa: E402
from agreemint.domain import AssignmentStatus, CampaignStatus  # noqa: E402
from agreemint.money import MICRO_TO_WEI  # noqa: E402
from agreemint.multiplier import MULTIPLIER_SCALE  # noqa: E402
from agreemint.runtime import Services, build_services  # noqa: E402
from agreemint.services.funding import campaign_budget  # noqa: E402
from agreemint.services.gold_budget import affordable_gold, gold_room  # noqa: E402
from agreemint.services.rules import ALL_OFF  # noqa: E402
from agreemint.services.standing import Purpose  # noqa: E402
from agreemint.services.task_claim import CANDIDATES  # noqa: E402
from agreemint.store import migrate  # noqa: E402
from agreemint.store.engine import create_engine, create_sessionmaker  # noqa: E402
from agreemint.store.models import Answer, Assignment, Campaign, Item, LedgerEntry, Worker  # noqa: E402

OPTIONS = ["cat", "dog", "bird"]
OVERLAP, MAX_OVERLAP = 3, 5
CAP = MAX_OVERLAP  # the most answers an item gets before gold needs room in the budget
RATE_MICRO = 1_000_000  # one token per verified label at 1x
RATE_WEI = RATE_MICRO * MICRO_TO_WEI
TOP_BPS = 15_000
MULTIPLIERS = (10_000, 11_000, 12_500, 14_000, 15_000)  # decided amounts, below the top
BASE_WORKERS = 1_000
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CHUNK = 20_000


def amount(n: int) -> int:
    return RATE_WEI * MULTIPLIERS[n % len(MULTIPLIERS)] // MULTIPLIER_SCALE


async def bulk(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start:start + CHUNK])


async def build(services: Services, name: str, args: argparse.Namespace, workers: list[int],
                first_id: dict[str, int]) -> int:
    """One funded campaign of the given size; its id. `first_id`: the next free row ids."""
    regular, gold = args.items - args.gold, args.gold
    async with services.sessionmaker() as s:
        campaign = Campaign(
            name=name, label_options=OPTIONS, overlap=OVERLAP, max_overlap=MAX_OVERLAP,
            reward_rate_micro=RATE_MICRO, status=CampaignStatus.ACTIVE,
            budget_wei=campaign_budget(args.items, MAX_OVERLAP, RATE_MICRO, TOP_BPS))
        s.add(campaign)
        await s.flush()
        cid = campaign.id
        # Per-gold-item answer counts: "below" keeps half the gold one answer short of its max.
        if name == "below":
            short = gold // 2
            counts = [CAP - 1] * short
            rest, heavy = max(0, args.answers - short * (CAP - 1)), gold - short
            counts += [rest // heavy + (1 if n < rest % heavy else 0) for n in range(heavy)]
        else:
            counts = [args.answers // gold + (1 if n < args.answers % gold else 0)
                      for n in range(gold)]
        if max(counts) > len(workers):
            raise SystemExit(f"{max(counts)} answers on one gold item: more than "
                             f"{len(workers)} workers")
        item_id = first_id["item"]
        items, plan = [], []  # plan: (item id, answers, resolved, is gold)
        for n in range(regular):
            resolved = n % 2 == 0  # the rest still take answers
            many = OVERLAP if resolved else n // 2 % OVERLAP
            items.append({"id": item_id, "campaign_id": cid, "external_id": f"i{n}",
                          "text": f"item {n}", "slots_taken": many, "answers_count": many,
                          "resolved": resolved,
                          "consensus_label": OPTIONS[n % 3] if resolved else None})
            plan.append((item_id, many, resolved, False))
            item_id += 1
        for n in range(gold):
            items.append({"id": item_id, "campaign_id": cid, "external_id": f"g{n}",
                          "text": f"gold {n}", "is_gold": True, "gold_label": OPTIONS[n % 3],
                          "gold_source": "file", "slots_taken": counts[n],
                          "answers_count": counts[n]})
            plan.append((item_id, counts[n], False, True))
            item_id += 1
        first_id["item"] = item_id
        await bulk(s, Item, items)
        assignments, answers, ledger = [], [], []
        row = first_id["row"]
        for k, (iid, many, resolved, is_gold) in enumerate(plan):
            for j in range(many):
                worker = workers[(k * 7 + j) % len(workers)]
                assignments.append({
                    "id": row, "worker_id": worker, "item_id": iid,
                    "status": AssignmentStatus.ANSWERED, "issued_at": NOW,
                    "expires_at": NOW + timedelta(minutes=10), "closed_at": NOW,
                    "purpose": Purpose.TASK})
                answers.append({"id": row, "item_id": iid, "worker_id": worker,
                                "assignment_id": row, "label": OPTIONS[(k + j) % 3],
                                "answered_at": NOW, "purpose": Purpose.TASK})
                decided = resolved or (is_gold and j % 4 != 0)
                ledger.append({
                    "id": row, "answer_id": row, "worker_id": worker, "campaign_id": cid,
                    "status": ("paid" if j % 2 else "verified") if decided else "pending",
                    "amount_wei": amount(row) if decided else 0})
                row += 1
        first_id["row"] = row
        await bulk(s, Assignment, assignments)
        await bulk(s, Answer, answers)
        await bulk(s, LedgerEntry, ledger)
        await s.commit()
    return cid


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def time_checks(services: Services, cid: int, n: int) -> list[float]:
    """`affordable_gold` alone, in a write transaction that is rolled back."""
    out = []
    for _ in range(n):
        async with services.sessionmaker() as s:
            await s.connection()  # BEGIN IMMEDIATE on SQLite, as in a claim
            campaign = await s.get_one(Campaign, cid)
            gold = list(await s.scalars(
                select(Item.id).where(Item.campaign_id == cid, Item.is_gold.is_(True))
                .order_by(Item.answers_count, Item.id).limit(CANDIDATES)))
            t0 = time.perf_counter()
            await affordable_gold(s, campaign, gold)
            out.append(time.perf_counter() - t0)
            await s.rollback()
    return out


async def time_claims(services: Services, workers: list[tuple[int, int]]
                      ) -> tuple[list[float], int]:
    """Each new worker's first task (a gold turn), answered; per-claim seconds, gold served."""
    out, gold = [], 0
    for worker_id, telegram_id in workers:
        t0 = time.perf_counter()
        task = await services.tasks.next_task(worker_id)
        out.append(time.perf_counter() - t0)
        if task is None:
            raise SystemExit("a worker got no task")
        gold += (task.text or "").startswith("gold")
        await services.tasks.record_answer(telegram_id, task.assignment_id, 0)
    return out, gold


async def new_workers(services: Services, first: int, n: int) -> list[tuple[int, int]]:
    async with services.sessionmaker() as s:
        await bulk(s, Worker, [{"telegram_id": first + k, "first_name": f"W{first + k}",
                                "username": f"w{first + k}"} for k in range(n)])
        await s.commit()
        rows = (await s.execute(select(Worker.id, Worker.telegram_id)
                                .where(Worker.telegram_id >= first)
                                .where(Worker.telegram_id < first + n))).all()
    return [(int(r[0]), int(r[1])) for r in rows]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="agreemint-bench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    await migrate.upgrade(db_url)
    engine = create_engine(db_url)
    settings = Settings(_env_file=None, data_dir=tmp,  # type: ignore[call-arg]
                        trust={"rules": dict(ALL_OFF), "limit_without_username": False,
                               "early_gold_answers": 0, "training_questions": 0},
                        tasks={"gold_rate": 1.0})
    services = build_services(create_sessionmaker(engine), settings, clock=lambda: NOW)
    results: dict[str, Any] = {}
    try:
        wall = time.monotonic()
        print(f"building two campaigns of {args.items:,} items ({args.gold:,} gold, "
              f"{args.answers:,} gold answers) …", flush=True)
        base = [w for w, _ in await new_workers(services, 10_000_000, BASE_WORKERS)]
        first_id = {"item": 1, "row": 1}
        cids = {name: await build(services, name, args, base, first_id)
                for name in ("below", "full")}
        async with services.sessionmaker() as s:
            rows = {t: await s.scalar(select(func.count()).select_from(table(t)))
                    for t in ("items", "assignments", "ledger_entries")}
        print(f"  built in {time.monotonic() - wall:.1f} s: {rows['items']:,} items, "
              f"{rows['assignments']:,} assignments, {rows['ledger_entries']:,} ledger rows",
              flush=True)
        print()
        print(f"{'campaign':<8} {'extra gold':>10} {'check ms':>9} {'p95':>7} "
              f"{'claim ms':>9} {'p95':>7} {'claims/s':>9} {'gold served':>12}")
        for k, (name, cid) in enumerate(cids.items()):
            async with services.sessionmaker() as s:  # claims go to this campaign only
                await s.execute(update(Campaign).values(status=case(
                    (Campaign.id == cid, CampaignStatus.ACTIVE), else_=CampaignStatus.PAUSED)))
                await s.commit()
            checks = await time_checks(services, cid, args.claims)
            claimers = await new_workers(services, 20_000_000 + k * 1_000_000, args.claims)
            claims, served = await time_claims(services, claimers)
            async with services.sessionmaker() as s:
                room = await gold_room(s, await s.get_one(Campaign, cid))
            extra = room.extra_gold if room is not None else 0
            figures = {
                "check_ms_median": round(statistics.median(checks) * 1e3, 3),
                "check_ms_p95": round(pct(checks, 0.95) * 1e3, 3),
                "claim_ms_median": round(statistics.median(claims) * 1e3, 3),
                "claim_ms_p95": round(pct(claims, 0.95) * 1e3, 3),
                # one after another: the claims' own seconds, not the answers between them
                "claims_per_second": round(len(claims) / sum(claims), 1),
                "gold_served": served, "extra_gold": extra,
            }
            results[name] = figures
            print(f"{name:<8} {extra:>10,} {figures['check_ms_median']:>9.2f} "
                  f"{figures['check_ms_p95']:>7.2f} {figures['claim_ms_median']:>9.2f} "
                  f"{figures['claim_ms_p95']:>7.2f} {figures['claims_per_second']:>9.1f} "
                  f"{served:>8} / {args.claims}")
    finally:
        await engine.dispose()
    return {"items": args.items, "gold": args.gold, "gold_answers": args.answers,
            "claims": args.claims, **{f"{name}_{key}": value for name, figures in results.items()
                                      for key, value in figures.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=20_000, help="items per campaign, gold included")
    p.add_argument("--gold", type=int, default=2_000, help="hidden gold items among them")
    p.add_argument("--answers", type=int, default=80_000, help="task answers on gold")
    p.add_argument("--claims", type=int, default=200, help="checks and claims timed per campaign")
    args = p.parse_args()
    if not 0 < args.gold < args.items:
        p.error("--gold must be between 0 and --items")
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
