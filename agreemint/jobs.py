"""The scheduler: each job is thin and calls one service."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agreemint.config import Settings
from agreemint.runtime import Services

log = logging.getLogger(__name__)
# Jobs that need the Telegram bot get it as a closure from the caller (agreemint/serve.py):
# this module stays free of the bot package.
Deliver = Callable[[], Awaitable[int]]


async def consensus_round(services: Services) -> None:
    """Label what reached its overlap, turn the round into ledger entries, then look for
    collusion (holding the suspects' rewards for review) and gold keys the crowd disputes."""
    for summary in await services.rounds.run_all():
        assessed = await services.rewards.assess(summary.round_id)
        log.info(
            "round %s of campaign %s: %s items labeled (mean confidence %.3f); %s",
            summary.round_id, summary.campaign_id, summary.items_resolved,
            summary.mean_confidence, assessed,
        )
        cases = await services.collusion.scan(summary.campaign_id)
        flagged = await services.gold_review.flag_bad_gold(summary.campaign_id)
        if cases or flagged:
            log.info("campaign %s: review cases %s opened, gold keys %s flagged",
                     summary.campaign_id, cases, flagged)


async def settle(services: Services) -> None:
    """Pay verified rewards on-chain (resumes unfinished batches first)."""
    if services.settlement is not None:
        result = await services.settlement.settle_once()
        log.info("settlement: %s", result)


async def notify(deliver: Deliver) -> None:
    sent = await deliver()
    if sent:
        log.info("sent %s notifications", sent)


async def broadcast(send: Deliver) -> None:
    sent = await send()
    if sent:
        log.info("broadcasts: %s messages delivered", sent)


async def expire_assignments(services: Services) -> None:
    released = await services.tasks.expire_stale()
    if released:
        log.info("released %s expired assignments", released)


async def forget_updates(services: Services) -> None:
    await services.workers.forget_old_updates()


def build_scheduler(
    services: Services,
    settings: Settings,
    deliver: Deliver | None = None,
    broadcasts: Deliver | None = None,
) -> AsyncIOScheduler:
    """Jobs run one at a time each (max_instances=1) and a missed run is not repeated."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    once = {"max_instances": 1, "coalesce": True}
    every = settings.consensus.round_interval_seconds
    scheduler.add_job(consensus_round, "interval", id="consensus_round", seconds=every,
                      args=[services], **once)
    scheduler.add_job(settle, "interval", id="settle", args=[services],
                      seconds=settings.rewards.settle_interval_seconds, **once)
    if deliver is not None:
        scheduler.add_job(notify, "interval", id="notify", args=[deliver],
                          seconds=settings.rewards.notify_interval_seconds, **once)
    if broadcasts is not None:
        scheduler.add_job(broadcast, "interval", id="broadcast", args=[broadcasts], seconds=5,
                          **once)
    scheduler.add_job(expire_assignments, "interval", id="expire_assignments", args=[services],
                      seconds=max(5, settings.tasks.assignment_ttl_seconds // 4), **once)
    scheduler.add_job(forget_updates, "interval", id="forget_updates", args=[services], hours=1,
                      **once)
    return scheduler
