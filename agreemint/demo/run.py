"""Run the demo: the whole loop on the embedded defaults.

A local anvil chain with the contracts, the Telegram sandbox, the real bot and scheduler on a fresh
SQLite file, and a simulated crowd that links wallets by signing, answers, and gets paid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot
from pydantic import SecretStr

from agreemint.chain.context import open_chain
from agreemint.config import (
    ConsensusSettings,
    DbSettings,
    RewardSettings,
    Settings,
    TaskSettings,
    TrustSettings,
)
from agreemint.demo.crowd import SimWorker, make_crowd, work
from agreemint.demo.report import print_summary, progress, summarize
from agreemint.demo.sample import Sample, load_sample
from agreemint.jobs import build_scheduler
from agreemint.runtime import Services, open_services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from bot.app import build_bot, build_dispatcher, run_polling
from bot.notifier import deliver

FRESH_FILES = ("demo.sqlite3", "anvil-state.json", "anvil-deployment.json")


@dataclass(frozen=True)
class DemoOptions:
    workers: int = 6
    items: int = 48
    seed: int = 7
    overlap: int = 5
    max_overlap: int | None = None  # dynamic overlap: unsure items get answers up to this
    json_out: bool = False
    data_dir: Path | None = None


def _settings(data_dir: Path) -> Settings:
    for name in FRESH_FILES:  # a fresh database and a fresh chain every run
        (data_dir / name).unlink(missing_ok=True)
    return Settings(
        _env_file=None,
        data_dir=data_dir,
        db=DbSettings(url=f"sqlite+aiosqlite:///{(data_dir / 'demo.sqlite3').resolve()}"),
        tasks=TaskSettings(assignment_ttl_seconds=300, gold_rate=0.15),
        consensus=ConsensusSettings(round_interval_seconds=1),
        rewards=RewardSettings(settle_interval_seconds=2, notify_interval_seconds=1),
        # Simulated workers tap within milliseconds, and six of them fill overlap 5: one
        # failed trainee would leave every item short of its overlap. So no speed rules and no
        # training here; the other rules, early gold and the collusion review run as in
        # production (training is exercised in tests/integration/trust). Answering within a
        # second of each other, accurate simulated workers can look like lock-step pairs, so
        # the pair test waits for more shared items than the demo has; rings are still tested.
        trust=TrustSettings(rules={"too_fast": {"enabled": False},
                                   "fast_streak": {"enabled": False}},
                            training_questions=0, collusion_min_common=1_000),
    )


async def run_demo(options: DemoOptions) -> int:
    """Returns the process exit code: 0, or 1 when the ledger and the chain disagree."""
    started = time.monotonic()
    # A job that outlasts its interval is simply skipped; not worth a warning in a demo.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="agreemint-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = _settings(data_dir)
    overlap = min(options.overlap, options.workers)  # never more answers than workers
    ceiling = min(options.max_overlap, options.workers) if options.max_overlap else None
    sample = load_sample(options.items, overlap, ceiling)
    crowd = make_crowd(options.workers, options.seed)
    async with (
        open_chain(settings) as chain,
        FakeBotAPI() as api,
        open_services(settings, chain=chain) as services,
    ):
        assert services.settlement is not None
        campaign_id = await services.campaigns.create(sample.spec, sample.items, actor="demo")
        await services.settlement.open_campaign_onchain(campaign_id)
        settings.bot.token, settings.bot.api_base = SecretStr(api.token), api.base_url
        async with SandboxClient(api.base_url) as tg:
            await _crowd_works(services, settings, crowd, sample, options.seed, tg)
            summary = await summarize(services, crowd, sample.truth, tg)
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["data_dir"] = str(data_dir)
    print_summary(summary, options.json_out)
    return 0 if summary["match"] else 1


async def _crowd_works(
    services: Services, settings: Settings, crowd: list[SimWorker], sample: Sample, seed: int,
    tg: SandboxClient,
) -> None:
    bot = build_bot(settings.bot)
    dp = build_dispatcher(services)
    # No broadcasts run in the demo, so notices may use the whole of the sandbox's rate.
    scheduler = build_scheduler(
        services, settings, deliver=lambda: deliver(bot, services.notifications, pause=0.02)
    )
    scheduler.start()
    polling = asyncio.create_task(run_polling(bot, dp, polling_timeout=1))
    regular = sum(item.gold_label is None for item in sample.items)
    bar = asyncio.create_task(progress(services, regular))
    try:
        rng = random.Random(seed)
        seeds = [random.Random(rng.random()) for _ in crowd]
        await asyncio.gather(
            *(work(tg, w, sample.truth, r) for w, r in zip(crowd, seeds, strict=True))
        )
        scheduler.pause()
        await _finish(services, bot)
    finally:
        bar.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await bar
        scheduler.shutdown(wait=False)
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.wait_for(polling, timeout=15)
        await bot.session.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)


async def _finish(services: Services, bot: Bot) -> None:
    """What the scheduler would do next, run to the end: last round, payouts, messages."""
    assert services.settlement is not None
    for summary in await services.rounds.run_all():
        await services.rewards.assess(summary.round_id)
    for _ in range(10):
        result = await services.settlement.settle_once()
        if result.planned == 0 and result.deferred == 0:
            break
    while await deliver(bot, services.notifications, pause=0.02):
        pass
