"""Append an entry to the audit log inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.store.models import AuditEntry


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
    session.add(
        AuditEntry(actor=actor, action=action, entity=entity, entity_id=str(entity_id), data=data)
    )
