"""A worker's standing in a campaign: one row, created on first need, shared by the trust
services (training, rules, collusion review) so each sees what the others decided."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.store.models import Standing


class Stage:
    """Where a worker is in a campaign's qualification."""

    TRAINING = "training"
    QUALIFIED = "qualified"
    FAILED = "failed"


class Purpose:
    """Why an assignment was issued (and what its answer is for)."""

    TASK = "task"
    TRAINING = "training"
    REVIEW = "review"


async def find_standing(session: AsyncSession, worker_id: int, campaign_id: int) -> Standing | None:
    return await session.scalar(
        select(Standing).where(Standing.worker_id == worker_id, Standing.campaign_id == campaign_id)
    )


async def get_standing(
    session: AsyncSession, worker_id: int, campaign_id: int, *, stage: str = Stage.QUALIFIED
) -> Standing:
    """The row, created with `stage` when missing (a concurrent creator wins; we reuse its row)."""
    row = await find_standing(session, worker_id, campaign_id)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            row = Standing(worker_id=worker_id, campaign_id=campaign_id, stage=stage)
            session.add(row)
    except IntegrityError:
        row = await find_standing(session, worker_id, campaign_id)
        assert row is not None
    return row


def removed_workers(campaign_id: int) -> Select[int]:
    """Workers removed from the campaign (by a rule, or a confirmed collusion case): removal is
    final, and rounds leave out every answer they gave in it. A released case removes nobody."""
    return select(Standing.worker_id).where(
        Standing.campaign_id == campaign_id, Standing.removed_at.is_not(None)
    )


def blocking_reason(row: Standing | None, now: datetime) -> str | None:
    """Why this standing keeps the worker from new tasks in its campaign now, or None."""
    if row is None:
        return None
    if row.removed_at is not None:
        return row.removed_reason or "removed from this campaign"
    if row.paused_until is not None and row.paused_until > now:
        return f"{row.pause_reason or 'paused'} (until {row.paused_until:%Y-%m-%d %H:%M} UTC)"
    if row.stage == Stage.FAILED and row.retry_at is not None and row.retry_at > now:
        return f"training not passed; you can retry after {row.retry_at:%Y-%m-%d %H:%M} UTC"
    return None
