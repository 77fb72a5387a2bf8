"""Promotion candidates: resolved regular items sure enough to become gold.

An item qualifies when its consensus label is at least `min_confidence` confident and every one
of its task answers (at least the campaign's overlap of them) agrees with it. Promoting them
keeps gold from running out.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.services.gold_views import Candidate, preview
from agreemint.services.standing import Purpose
from agreemint.store.models import Answer, Campaign, Item


def candidate_filters(campaign: Campaign,
                      min_confidence: float) -> tuple[ColumnElement[bool], ...]:
    return (Item.campaign_id == campaign.id, Item.is_gold.is_(False),
            Item.resolved.is_(True), Item.consensus_label.is_not(None),
            # An item that is or was gold (dropped by a manager) is not proposed again.
            Item.gold_source.is_(None),
            Item.confidence >= min_confidence)


def unanimous(campaign: Campaign) -> tuple[ColumnElement[bool], ...]:
    total = func.count(Answer.id)
    agree = func.count(Answer.id).filter(Answer.label == Item.consensus_label)
    return (total == agree, total >= campaign.overlap)


async def promotion_candidates(session: AsyncSession, campaign: Campaign, min_confidence: float,
                     limit: int) -> list[Candidate]:
    """The most confident candidates of `campaign`, at most `limit`."""
    rows = (await session.execute(
        select(Item, func.count(Answer.id))
        .join(Answer, (Answer.item_id == Item.id) & (Answer.purpose == Purpose.TASK))
        .where(*candidate_filters(campaign, min_confidence))
        .group_by(Item.id)
        .having(*unanimous(campaign))
        .order_by(Item.confidence.desc(), Item.id)
        .limit(limit))).all()
    return [Candidate(item.id, preview(item), str(item.consensus_label),
                      float(item.confidence or 0.0), int(count)) for item, count in rows]


async def is_candidate(session: AsyncSession, item: Item, campaign: Campaign,
                       min_confidence: float) -> bool:
    """Whether `item` qualifies now (a stale button may name one that no longer does)."""
    sure = await session.scalar(
        select(Item.id).join(Answer, (Answer.item_id == Item.id)
                             & (Answer.purpose == Purpose.TASK))
        .where(Item.id == item.id, *candidate_filters(campaign, min_confidence))
        .group_by(Item.id).having(*unanimous(campaign)))
    return sure is not None
