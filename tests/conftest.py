"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and the services over it.

Databases are built by `alembic upgrade head` once per session into a template; each test gets
a copy (a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from agreemint.config import Settings, TrustSettings
from agreemint.runtime import Services, build_services
from agreemint.services.rules import ALL_OFF
from agreemint.store import migrate
from agreemint.store.engine import create_engine, create_sessionmaker

# The session's anvil node (`anvil_url`) for every chain-backed test directory.
pytest_plugins = ["tests.chain_support"]

PG_URL = os.environ.get("AGREEMINT_TEST_PG_URL", "")
BACKENDS = ("sqlite", "postgres")


class Clock:
    """A clock the test moves by hand (assignment expiry)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def run_sync(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _pg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    run_sync(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the suite on PostgreSQL too: set AGREEMINT_TEST_PG_URL")
        pytest.skip("set AGREEMINT_TEST_PG_URL to run the PostgreSQL half of the suite")
    name = f"agreemint_tpl_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        await migrate.upgrade(str(make_url(PG_URL).set(database=name).render_as_string(False)))

    async def drop() -> None:
        conn = await asyncpg.connect(_pg_dsn(PG_URL))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    run_sync(create())
    yield name
    run_sync(drop())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "agreemint.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"agreemint_t_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_pg_dsn(PG_URL))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def quiet_trust() -> TrustSettings:
    """Trust settings for tests of other things. The clock is frozen, so every answer takes
    0 s: the per-campaign rules (too fast, ...), the new-account cap, training and early gold
    are off here and tested on their own (tests/integration/trust)."""
    return TrustSettings(rules=dict(ALL_OFF), limit_without_username=False,
                         early_gold_answers=0, training_questions=0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, trust=quiet_trust())  # type: ignore[call-arg]


@pytest.fixture
async def services(db_url: str, settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    engine = create_engine(db_url)
    try:
        yield build_services(create_sessionmaker(engine), settings, clock)
    finally:
        await engine.dispose()
