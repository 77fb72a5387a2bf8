"""Wiring: from settings to an engine, a sessionmaker and the services everything else calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from agreemint.config import Settings
from agreemint.services.campaigns import CampaignService
from agreemint.services.rounds import RoundService
from agreemint.services.tasks import Clock, TaskService
from agreemint.services.workers import WorkerService
from agreemint.store import migrate
from agreemint.store.engine import SessionMaker, create_engine, create_sessionmaker
from agreemint.store.types import utcnow


@dataclass(frozen=True, slots=True)
class Services:
    """The long-lived use-case objects; handed to the dispatcher and the scheduler alike."""

    sessionmaker: SessionMaker
    workers: WorkerService
    tasks: TaskService
    campaigns: CampaignService
    rounds: RoundService

    def as_deps(self) -> dict[str, Any]:
        """Keyword arguments for `Dispatcher(**deps)`: handlers ask for them by name."""
        return {
            "workers": self.workers,
            "tasks": self.tasks,
            "campaigns": self.campaigns,
            "rounds": self.rounds,
        }


def build_services(
    sessionmaker: SessionMaker, settings: Settings, clock: Clock = utcnow
) -> Services:
    return Services(
        sessionmaker=sessionmaker,
        workers=WorkerService(sessionmaker),
        tasks=TaskService(sessionmaker, settings.tasks, clock),
        campaigns=CampaignService(sessionmaker),
        rounds=RoundService(sessionmaker, settings.consensus.aggregator),
    )


@asynccontextmanager
async def open_services(settings: Settings, *, upgrade: bool = True) -> AsyncIterator[Services]:
    """Migrate the database (by default), open it, and close it on exit."""
    url = settings.database_url()
    if upgrade:
        await migrate.upgrade(url)
    engine: AsyncEngine = create_engine(
        url, echo=settings.db.echo, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms
    )
    try:
        yield build_services(create_sessionmaker(engine), settings)
    finally:
        await engine.dispose()
