"""Migrations: the stairway (each revision up, down, up again) and no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from agreemint.store import migrate
from agreemint.store.engine import create_engine
from agreemint.store.models import Base

REVISIONS = list(
    reversed([r.revision for r in ScriptDirectory.from_config(
        migrate.alembic_config("sqlite://")).walk_revisions()])
)


@pytest.mark.parametrize("revision", REVISIONS)
async def test_stairway(db_url: str, revision: str) -> None:
    previous = REVISIONS.index(revision) - 1
    down_to = REVISIONS[previous] if previous >= 0 else "base"
    await migrate.downgrade(db_url, "base")
    await migrate.upgrade(db_url, revision)
    await migrate.downgrade(db_url, down_to)
    await migrate.upgrade(db_url, revision)


async def test_models_match_migrations(db_url: str) -> None:
    engine = create_engine(db_url)

    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    await engine.dispose()
    assert changes == [], f"models and migrations differ: {changes}"


async def test_audit_log_refuses_edits_on_postgresql(db_url: str, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("the database-level guard is PostgreSQL's; SQLite relies on the code")
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, data) "
            "VALUES (now(), 'test', 'x', 'y', '1', '{}')"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log"))
    await engine.dispose()
