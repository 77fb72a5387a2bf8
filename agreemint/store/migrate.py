"""Run Alembic migrations from code (the CLI, the app's start-up, test fixtures)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from agreemint.store.engine import create_engine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    """Alembic config pointing at the project's `migrations/` and the given database."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def _run(url: str, action: str, revision: str) -> None:
    cfg = alembic_config(url)
    engine = create_engine(url)

    def _sync(conn: Connection) -> None:
        # Hand our connection to env.py: Alembic's own asyncio.run would clash with this loop.
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)

    try:
        async with engine.connect() as conn:
            await conn.run_sync(_sync)
            await conn.commit()
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision`."""
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision`."""
    await _run(url, "downgrade", revision)
