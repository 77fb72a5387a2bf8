"""Run the demo: sandbox Telegram + the real bot + scheduler + simulated crowd on a fresh SQLite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select

from agreemint.config import ConsensusSettings, DbSettings, Settings, TaskSettings
from agreemint.demo.crowd import SimWorker, make_crowd, work
from agreemint.demo.sample import load_sample
from agreemint.jobs import build_scheduler
from agreemint.runtime import Services, open_services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from agreemint.store.models import Answer, Item, Worker, WorkerQuality
from bot.app import build_bot, build_dispatcher, run_polling


@dataclass(frozen=True)
class DemoOptions:
    workers: int = 6
    items: int = 48
    seed: int = 7
    overlap: int = 5
    json_out: bool = False
    data_dir: Path | None = None


def _settings(data_dir: Path) -> Settings:
    db_file = data_dir / "demo.sqlite3"
    db_file.unlink(missing_ok=True)  # a fresh database every run
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        db=DbSettings(url=f"sqlite+aiosqlite:///{db_file.resolve()}"),
        tasks=TaskSettings(assignment_ttl_seconds=300, gold_rate=0.15),
        consensus=ConsensusSettings(round_interval_seconds=1),
    )


async def run_demo(options: DemoOptions) -> int:
    """Returns the process exit code."""
    started = time.monotonic()
    # A round that outlasts its interval is simply skipped; not worth a warning in a demo.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="agreemint-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(data_dir)
    # An item can never get more answers than there are workers.
    overlap = min(options.overlap, options.workers)
    sample = load_sample(options.items, overlap)
    crowd = make_crowd(options.workers)
    rng = random.Random(options.seed)
    async with FakeBotAPI() as api, open_services(settings) as services:
        await services.campaigns.create(sample.spec, sample.items, actor="demo")
        settings.bot.token, settings.bot.api_base = SecretStr(api.token), api.base_url
        bot = build_bot(settings.bot)
        dp = build_dispatcher(services)
        scheduler = build_scheduler(services, settings)
        scheduler.start()
        polling = asyncio.create_task(run_polling(bot, dp, polling_timeout=1))
        regular = sum(i.gold_label is None for i in sample.items)
        progress = asyncio.create_task(_progress(services, regular))
        try:
            async with SandboxClient(api.base_url) as tg:
                seeds = [random.Random(rng.random()) for _ in crowd]
                await asyncio.gather(*(work(tg, w, sample.truth, r)
                                       for w, r in zip(crowd, seeds, strict=True)))
        finally:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            scheduler.shutdown(wait=False)
            with contextlib.suppress(RuntimeError):
                await dp.stop_polling()
            await asyncio.wait_for(polling, timeout=15)
            await bot.session.close()
        await services.rounds.run_all()  # whatever the last interval did not reach yet
        summary = await _summary(services, crowd, sample.truth)
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["database"] = str(settings.database_url())
    _print(summary, options.json_out)
    return 0


async def _progress(services: Services, items: int) -> None:
    """A progress bar on stderr while the crowd works (the summary goes to stdout).

    On a terminal the bar redraws in place; in a log it prints a line every few seconds.
    """
    tty = sys.stderr.isatty()
    while True:
        async with services.sessionmaker() as s:
            answers = int(await s.scalar(select(func.count()).select_from(Answer)) or 0)
            labeled = int(await s.scalar(select(func.count()).where(Item.resolved.is_(True)))
                          or 0)
        width = 30
        done = min(1.0, labeled / max(1, items))
        bar = "█" * int(done * width) + "·" * (width - int(done * width))
        line = f"  [{bar}] {labeled}/{items} items labeled · {answers} answers"
        print(f"\r{line}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)
        await asyncio.sleep(0.5 if tty else 3.0)


async def _summary(services: Services, crowd: list[SimWorker], truth: dict[str, str]
                   ) -> dict[str, Any]:
    async with services.sessionmaker() as s:
        labeled = list(await s.scalars(select(Item).where(Item.resolved.is_(True))))
        regular = int(await s.scalar(select(func.count()).where(Item.is_gold.is_(False))) or 0)
        answers = int(await s.scalar(select(func.count()).select_from(Answer)) or 0)
        quality_rows = (await s.execute(
            select(Worker.telegram_id, WorkerQuality.accuracy)
            .join(WorkerQuality, WorkerQuality.worker_id == Worker.id)
            .order_by(WorkerQuality.round_id)
        )).all()
    quality = {int(tg): float(q) for tg, q in quality_rows}  # the latest round wins
    correct = sum(1 for i in labeled if truth.get(i.text or "") == i.consensus_label)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return {
        "items": regular,
        "items_labeled": len(labeled),
        "answers": answers,
        "accuracy": round(correct / len(labeled), 4) if labeled else 0.0,
        "workers": [
            {
                "name": w.name,
                "profile": w.profile,
                "target_accuracy": round(w.accuracy, 3),
                "accuracy": round(w.correct / w.answers, 4) if w.answers else 0.0,
                "answers": w.answers,
                "estimated_quality": round(quality.get(w.user_id, 0.0), 3),
            }
            for w in crowd
        ],
    }


def _print(summary: dict[str, Any], json_out: bool) -> None:
    print("agreemint demo: the real bot over a local Telegram sandbox, SQLite, simulated crowd")
    print(f"{'worker':<8} {'profile':<8} {'answers':>7} {'accuracy':>9} {'est. quality':>13}")
    for w in summary["workers"]:
        print(f"{w['name']:<8} {w['profile']:<8} {w['answers']:>7} {w['accuracy']:>9.1%} "
              f"{w['estimated_quality']:>13.2f}")
    print(
        f"items labeled: {summary['items_labeled']}/{summary['items']} · answers: "
        f"{summary['answers']} · label accuracy vs known truth: {summary['accuracy']:.1%} · "
        f"{summary['seconds']} s"
    )
    if json_out:
        print(json.dumps(summary, separators=(",", ":")))
