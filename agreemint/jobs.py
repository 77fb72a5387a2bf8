"""The scheduler: each job is thin and calls one service."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from agreemint.config import Settings
from agreemint.runtime import Services

log = logging.getLogger(__name__)


async def consensus_round(services: Services) -> None:
    for summary in await services.rounds.run_all():
        log.info(
            "round %s of campaign %s: %s items labeled, mean confidence %.3f",
            summary.round_id, summary.campaign_id, summary.items_resolved,
            summary.mean_confidence,
        )


async def expire_assignments(services: Services) -> None:
    released = await services.tasks.expire_stale()
    if released:
        log.info("released %s expired assignments", released)


async def forget_updates(services: Services) -> None:
    await services.workers.forget_old_updates()


def build_scheduler(services: Services, settings: Settings) -> AsyncIOScheduler:
    """Jobs run one at a time each (max_instances=1) and a missed run is not repeated."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    defaults = {"max_instances": 1, "coalesce": True, "args": [services]}
    scheduler.add_job(consensus_round, "interval", id="consensus_round",
                      seconds=settings.consensus.round_interval_seconds, **defaults)
    scheduler.add_job(expire_assignments, "interval", id="expire_assignments",
                      seconds=max(5, settings.tasks.assignment_ttl_seconds // 4), **defaults)
    scheduler.add_job(forget_updates, "interval", id="forget_updates", hours=1, **defaults)
    return scheduler
