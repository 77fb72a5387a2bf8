"""Append an entry to the hash-chained audit log inside the caller's transaction.

Chain: entries in id order; `hash = sha256(prev_hash || canonical JSON of (id, at, actor,
action, entity, entity_id, data))` in hex, where `prev_hash` is the previous entry's hash (64
zeros for the first entry) and the JSON has sorted keys, no whitespace, `at` in ISO 8601 UTC.

Concurrency: `audit()` only queues the entry on the session. The session's `before_commit` hook
flushes the transaction's other changes first, then takes the chain lock (PostgreSQL: a
transaction-scoped advisory lock; SQLite: every transaction is already BEGIN IMMEDIATE, so
writers are serialized), reads the last entry, assigns ids and hashes and inserts the entries.
The lock is held only from there to COMMIT, after the transaction's own row locks, so it
cannot take part in a deadlock, and two transactions can never chain onto the same entry.
A rollback or close drops the queued entries with the rest of the transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from agreemint.store.models import AuditEntry
from agreemint.store.types import utcnow

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit chain (any constant unique to this lock).
CHAIN_LOCK_KEY = 0x4147524D  # "AGRM"
_PENDING = "agreemint.audit.pending"


def audit(
    session: AsyncSession,
    action: str,
    entity: str,
    entity_id: object,
    *,
    actor: str = "system",
    **data: Any,
) -> None:
    """Record one state change that matters to money or data; committed with the change itself."""
    entry = AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id),
                       data=normalize(data), at=utcnow())
    if not session.in_transaction():  # so that a rollback right away drops it too
        session.sync_session.begin()
    session.info.setdefault(_PENDING, []).append(entry)


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """The payload as it reads back from the JSON column (string keys, lists), so the hash
    computed before the insert equals the one recomputed from the stored row."""
    return dict(json.loads(json.dumps(data, default=str)))


def canonical(entry_id: int, at: datetime, actor: str, action: str, entity: str,
              entity_id: str, data: dict[str, Any]) -> bytes:
    body = {
        "id": entry_id, "at": at.astimezone(UTC).isoformat(), "actor": actor,
        "action": action, "entity": entity, "entity_id": entity_id, "data": data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def entry_hash(prev_hash: str, entry_id: int, at: datetime, actor: str, action: str,
               entity: str, entity_id: str, data: dict[str, Any]) -> str:
    """The chain hash of one entry (hex sha256)."""
    body = canonical(entry_id, at, actor, action, entity, entity_id, data)
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def hash_of(entry: AuditEntry, prev_hash: str) -> str:
    return entry_hash(prev_hash, entry.id, entry.at, entry.actor, entry.action, entry.entity,
                      entry.entity_id, entry.data)


def _chain_pending(session: Session, pending: list[AuditEntry]) -> None:
    session.flush()  # the transaction's own changes (and row locks) first
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    last = conn.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    prev = (last.hash if last is not None else None) or GENESIS
    next_id = (int(last.id) if last is not None else 0) + 1
    for entry in pending:
        if postgres:  # ids from the sequence, so a plain INSERT elsewhere never collides
            entry.id = int(conn.execute(
                select(func.nextval(func.pg_get_serial_sequence("audit_log", "id")))
            ).scalar_one())
        else:
            entry.id, next_id = next_id, next_id + 1
        entry.prev_hash = prev
        entry.hash = prev = hash_of(entry, prev)
        session.add(entry)
    session.flush()


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _chain_pending(session, pending)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: committed or rolled back
        session.info.pop(_PENDING, None)
