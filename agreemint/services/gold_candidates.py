"""Promotion candidates: resolved regular items sure enough to become gold.

An item qualifies when its consensus label is at least `min_confidence` confident and every one
of its task answers (at least the campaign's overlap of them) agrees with it. Promoting them
keeps gold from running out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.services.gold_views import Candidate, preview
from agreemint.services.standing import Purpose
from agreemint.store.models import Answer, Campaign, Item


def _qualifying(campaign: Campaign, min_confidence: float, *columns: Any) -> Select[Any]:
    """`columns` of the campaign's candidate items, one row per item."""
    total = func.count(Answer.id)
    agree = func.count(Answer.id).filter(Answer.label == Item.consensus_label)
    return (
        select(*columns)
        .join(Answer, (Answer.item_id == Item.id) & (Answer.purpose == Purpose.TASK))
        .where(Item.campaign_id == campaign.id, Item.is_gold.is_(False),
               Item.resolved.is_(True), Item.consensus_label.is_not(None),
               # An item that is or was gold (dropped by a manager) is not proposed again.
               Item.gold_source.is_(None),
               Item.confidence >= min_confidence)
        .group_by(Item.id)
        .having(total == agree, total >= campaign.overlap)
    )


async def promotion_candidates(session: AsyncSession, campaign: Campaign, min_confidence: float,
                               limit: int) -> list[Candidate]:
    """The most confident candidates of `campaign`, at most `limit`."""
    rows = (await session.execute(
        _qualifying(campaign, min_confidence, Item, func.count(Answer.id))
        .order_by(Item.confidence.desc(), Item.id)
        .limit(limit))).all()
    return [Candidate(item.id, preview(item), str(item.consensus_label),
                      float(item.confidence or 0.0), int(count)) for item, count in rows]


async def is_candidate(session: AsyncSession, item: Item, campaign: Campaign,
                       min_confidence: float) -> bool:
    """Whether `item` qualifies now (a stale button may name one that no longer does)."""
    sure = await session.scalar(
        _qualifying(campaign, min_confidence, Item.id).where(Item.id == item.id))
    return sure is not None
