"""Checking the audit chain and exporting one campaign's trail.

`verify_chain` walks the whole log in id order: every entry's `prev_hash` must equal the hash of
the entry before it (64 zeros for the first), and its `hash` must equal the hash recomputed from
its own content. The first entry failing either test is the first broken link: an edited row
fails the second test, a deleted row makes its successor fail the first.

`export_campaign_trail` writes one JSON line per entry concerning a campaign, with both hashes,
so a reader can recompute each entry's hash and check the links between consecutive entries
against the full chain. An entry concerns campaign C when
- entity "campaign" and entity_id C (creation, funding, rounds and their labels, controls);
- entity "item" and an item of C (answers recorded, skips, expiries);
- entity "answer" and an answer to an item of C (ledger decisions: verified / withheld);
- entity "batch" and a settlement batch of C (planned, paid, failed);
- or its data names C as "campaign" or "campaign_id" (e.g. broadcasts about C).
Worker-level entries (registration, wallet links, roles) concern no single campaign and are
not in a campaign's trail.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agreemint.services.audit import GENESIS, hash_of
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, AuditEntry, Item, SettlementBatch

PAGE = 1000


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int  # entries checked (up to and including the first broken one)
    ok: bool
    first_broken_id: int | None = None
    reason: str | None = None


async def _entries(sm: SessionMaker) -> AsyncIterator[AuditEntry]:
    """Entries in id order, a page per short read transaction."""
    after = 0
    while True:
        async with sm() as s:
            page = list(await s.scalars(
                select(AuditEntry).where(AuditEntry.id > after)
                .order_by(AuditEntry.id).limit(PAGE)))
        for entry in page:
            yield entry
        if len(page) < PAGE:
            return
        after = page[-1].id


async def verify_chain(sm: SessionMaker) -> VerifyReport:
    """The whole chain, or the first broken link (which entry and why)."""
    prev_hash, prev_id, count = GENESIS, None, 0
    async for entry in _entries(sm):
        count += 1
        if entry.prev_hash != prev_hash:
            after = f"entry {prev_id}" if prev_id is not None else "the start of the log"
            return VerifyReport(count, False, entry.id, (
                f"prev_hash {entry.prev_hash} does not match the hash {prev_hash} of {after}: "
                "a predecessor is missing or was changed"))
        expected = hash_of(entry, prev_hash)
        if entry.hash != expected:
            return VerifyReport(count, False, entry.id, (
                f"content changed: expected hash {expected}, stored {entry.hash}"))
        prev_hash, prev_id = expected, entry.id
    return VerifyReport(count, True)


def render(report: VerifyReport) -> str:
    if report.ok:
        return f"audit chain OK: {report.entries} entries"
    return f"audit chain BROKEN at entry {report.first_broken_id}: {report.reason}"


async def _campaign_scope(
    sm: SessionMaker, campaign_id: int
) -> tuple[list[str], list[str], list[str]]:
    async with sm() as s:
        items = [str(i) for i in await s.scalars(
            select(Item.id).where(Item.campaign_id == campaign_id))]
        answers = [str(a) for a in await s.scalars(
            select(Answer.id).join(Item, Item.id == Answer.item_id)
            .where(Item.campaign_id == campaign_id))]
        batches = [str(b) for b in await s.scalars(
            select(SettlementBatch.id).where(SettlementBatch.campaign_id == campaign_id))]
    return items, answers, batches


def _names_campaign(entry: AuditEntry, campaign_id: int) -> bool:
    data = entry.data or {}
    return any(str(data.get(key)) == str(campaign_id) for key in ("campaign", "campaign_id"))


def _concerns(entry: AuditEntry, campaign_id: int, scope: dict[str, set[str]]) -> bool:
    if entry.entity == "campaign" and entry.entity_id == str(campaign_id):
        return True
    if entry.entity_id in scope.get(entry.entity, set()):
        return True
    return _names_campaign(entry, campaign_id)


def entry_line(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor,
        "action": entry.action, "entity": entry.entity, "entity_id": entry.entity_id,
        "data": entry.data, "prev_hash": entry.prev_hash, "hash": entry.hash,
    }


async def export_campaign_trail(sm: SessionMaker, campaign_id: int, out: Path) -> int:
    """Write the campaign's entries as JSON lines (id order); returns how many."""
    items, answers, batches = await _campaign_scope(sm, campaign_id)
    scope = {"item": set(items), "answer": set(answers), "batch": set(batches)}
    written = 0
    with out.open("w", encoding="utf-8") as fh:
        async for entry in _entries(sm):
            if _concerns(entry, campaign_id, scope):
                fh.write(json.dumps(entry_line(entry), ensure_ascii=False,
                                    sort_keys=True) + "\n")
                written += 1
    return written
