"""The hash-chained audit log: concurrent writers, tamper detection, campaign export, CLI."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import JSON, column, insert, select, table, text

from agreemint.runtime import Services
from agreemint.services.audit import GENESIS, entry_hash
from agreemint.services.audit_trail import export_campaign_trail, verify_chain
from agreemint.store import migrate
from agreemint.store.engine import create_engine, create_sessionmaker
from agreemint.store.models import AuditEntry
from agreemint.store.types import UTCDateTime
from tests.factories import make_campaign, make_workers

BEFORE_CHAIN = "e4b9141e8c8f"


async def answer_all(services: Services, campaign_items: int = 3, workers: int = 2) -> int:
    campaign_id = await make_campaign(services, items=campaign_items, overlap=workers)
    for view in await make_workers(services, workers):
        while (task := await services.tasks.next_task(view.id)) is not None:
            await services.tasks.record_answer(view.telegram_id, task.assignment_id, 0)
    return campaign_id


async def entries(services: Services) -> list[AuditEntry]:
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_every_entry_is_chained(services: Services) -> None:
    await answer_all(services)
    rows = await entries(services)
    assert len(rows) > 5 and rows[0].prev_hash == GENESIS
    for prev, row in itertools.pairwise(rows):
        assert row.prev_hash == prev.hash
    report = await verify_chain(services.sessionmaker)
    assert report.ok and report.entries == len(rows) and report.first_broken_id is None


async def test_rolled_back_entries_leave_no_trace(services: Services) -> None:
    from agreemint.services.audit import audit

    async with services.sessionmaker() as s:
        audit(s, "x.rolled_back", "campaign", 1)
        await s.rollback()
        audit(s, "x.kept", "campaign", 1, n=1)
        await s.commit()
    assert [e.action for e in await entries(services)] == ["x.kept"]
    assert (await verify_chain(services.sessionmaker)).ok


async def test_concurrent_writers_never_fork_the_chain(services: Services) -> None:
    await make_campaign(services, items=20, overlap=1)
    workers = await make_workers(services, 20)
    tasks = [await services.tasks.next_task(w.id) for w in workers]
    assert all(t is not None for t in tasks)
    await asyncio.gather(*(
        services.tasks.record_answer(w.telegram_id, t.assignment_id, 1)
        for w, t in zip(workers, tasks, strict=True) if t is not None))
    rows = await entries(services)
    assert sum(e.action == "answer.recorded" for e in rows) == 20
    assert len({e.prev_hash for e in rows}) == len(rows)  # no two entries share a predecessor
    report = await verify_chain(services.sessionmaker)
    assert report.ok, report.reason


async def test_tampered_and_deleted_rows_are_reported(services: Services, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL refuses UPDATE and DELETE on audit_log (trigger)")
    await answer_all(services)
    rows = await entries(services)
    victim = rows[4]
    async with services.sessionmaker() as s:
        await s.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"),
                        {"id": victim.id})
        await s.commit()
    report = await verify_chain(services.sessionmaker)
    assert (report.ok, report.first_broken_id, report.entries) == (False, victim.id, 5)
    assert report.reason is not None and "content changed" in report.reason
    assert str(victim.hash) in report.reason

    async with services.sessionmaker() as s:  # restore it, then delete another one
        await s.execute(text("UPDATE audit_log SET actor = :a WHERE id = :id"),
                        {"a": victim.actor, "id": victim.id})
        await s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": rows[2].id})
        await s.commit()
    report = await verify_chain(services.sessionmaker)
    assert (report.ok, report.first_broken_id) == (False, rows[3].id)
    assert report.reason is not None and f"entry {rows[1].id}" in report.reason
    assert "missing" in report.reason


async def test_export_has_the_campaign_slice_with_hashes(
    services: Services, tmp_path: Path
) -> None:
    campaign_id = await answer_all(services)
    other = await make_campaign(services, items=1, overlap=1, name="Other")
    out = tmp_path / "trail.jsonl"
    written = await export_campaign_trail(services.sessionmaker, campaign_id, out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == len(lines) == 1 + 6  # created + 3 items × 2 answers
    assert [ln["action"] for ln in lines].count("answer.recorded") == 6
    assert lines[0]["action"] == "campaign.created"
    assert all(not (ln["entity"] == "campaign" and ln["entity_id"] == str(other))
               for ln in lines)
    for ln in lines:  # every line re-verifies on its own against its stated predecessor
        assert ln["hash"] == entry_hash(
            ln["prev_hash"], ln["id"], datetime.fromisoformat(ln["at"]), ln["actor"],
            ln["action"], ln["entity"], ln["entity_id"], ln["data"])


async def test_existing_rows_are_chained_by_the_migration(db_url: str) -> None:
    await migrate.downgrade(db_url, BEFORE_CHAIN)
    engine = create_engine(db_url)
    legacy = table("audit_log", column("at", UTCDateTime()), column("actor"), column("action"),
                   column("entity"), column("entity_id"), column("data", JSON()))
    async with engine.begin() as conn:
        for n in range(3):
            await conn.execute(insert(legacy).values(
                at=datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=UTC), actor="test",
                action="legacy", entity="campaign", entity_id=str(n),
                data={"n": n, "k": [1, "x"]}))
    await engine.dispose()
    await migrate.upgrade(db_url, "head")
    engine = create_engine(db_url)
    report = await verify_chain(create_sessionmaker(engine))
    await engine.dispose()
    assert report.ok and report.entries == 3


def cli(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB__", "CHAIN__"))}
    return subprocess.run(
        [sys.executable, "-m", "agreemint.cli", *args], cwd=cwd, capture_output=True,
        text=True, timeout=120, check=False,
        env={**env, "DATA_DIR": str(cwd / "data"), "DB__URL": db_url},
    )


async def test_cli_verify_and_export(
    services: Services, db_url: str, backend: str, tmp_path: Path
) -> None:
    campaign_id = await answer_all(services)
    count = len(await entries(services))
    result = await asyncio.to_thread(cli, "audit", "verify", db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"audit chain OK: {count} entries"
    out = tmp_path / "t.jsonl"
    result = await asyncio.to_thread(cli, "audit", "export", str(campaign_id), "--out",
                                     str(out), db_url=db_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"wrote 7 audit entries of campaign {campaign_id}" in result.stdout
    if backend == "sqlite":
        async with services.sessionmaker() as s:
            await s.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
            await s.commit()
        result = await asyncio.to_thread(cli, "audit", "verify", db_url=db_url, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stdout.startswith("audit chain BROKEN at entry 3: content changed")
