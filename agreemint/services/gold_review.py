"""A manager's review of gold: flagged keys and promotion candidates, and the decisions on them.

Keys good workers disagree with are flagged after each round (gold_flags.py; GoldReview inherits
it, so the scheduler calls `flag_bad_gold` on this service). Resolved regular items that are very
confident and unanimous are promotion candidates (gold_candidates.py). A manager promotes them
(gold does not run out), fixes a flagged key, keeps it or drops it.

A manager acts on their own campaigns only, admins on all (the rule of campaign_access).
Every change is audited in its transaction.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.config import TrustSettings
from agreemint.domain import canonical_label
from agreemint.errors import AgreemintError, NotFound
from agreemint.multiplier import QualityCurve
from agreemint.services.audit import audit
from agreemint.services.campaign_access import CampaignAccess, Viewer
from agreemint.services.gold_candidates import is_candidate, promotion_candidates
from agreemint.services.gold_flags import GoldFlags
from agreemint.services.gold_regrade import regrade_gold
from agreemint.services.gold_views import Candidate, FlaggedGold, GoldOverview, preview
from agreemint.services.label_codes import label_code, label_from_code
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Campaign, Item

__all__ = [
    "PROMOTED",
    "Candidate",
    "FlaggedGold",
    "GoldOverview",
    "GoldRefused",
    "GoldReview",
]

PROMOTED = "promoted"


class GoldRefused(AgreemintError):
    """A gold action that does not apply (any more) to this item; the message says why."""


class GoldReview(GoldFlags):
    """Bad-key flags, promotion candidates and the manager's decisions on them."""

    def __init__(self, sessionmaker: SessionMaker, settings: TrustSettings,
                 prior: tuple[float, float], curve: QualityCurve) -> None:
        super().__init__(sessionmaker, settings, prior)
        self._curve = curve  # rewards a fixed key releases are decided like any other
        # Ownership is campaign_access's rule; reused, not restated (no chain needed for it).
        self._access = CampaignAccess(sessionmaker, None)

    # -------------------------------------------------------------- reading

    async def flagged(self, campaign_id: int, viewer: Viewer | None = None) -> list[FlaggedGold]:
        """Flagged gold keys of a campaign (`viewer` None: the system, no ownership check)."""
        async with self._sm() as session:
            campaign = await self._campaign(session, campaign_id, viewer)
            return await self._flagged(session, campaign)

    async def candidates(self, campaign_id: int, limit: int = 10,
                         viewer: Viewer | None = None) -> list[Candidate]:
        """Resolved regular items, confident and unanimous with at least the overlap."""
        async with self._sm() as session:
            campaign = await self._campaign(session, campaign_id, viewer)
            return await self._candidates(session, campaign, limit)

    async def overview(self, viewer: Viewer, campaign_id: int, limit: int = 10) -> GoldOverview:
        """What /gold shows: flagged keys and promotion candidates of one of your campaigns."""
        async with self._sm() as session:
            campaign = await self._campaign(session, campaign_id, viewer)
            flagged = await self._flagged(session, campaign)
            return GoldOverview(campaign.id, flagged[:limit],
                                await self._candidates(session, campaign, limit))

    async def _flagged(self, session: AsyncSession, campaign: Campaign) -> list[FlaggedGold]:
        items = list(await session.scalars(select(Item).where(
            Item.campaign_id == campaign.id, Item.is_gold.is_(True),
            Item.gold_flag.is_not(None)).order_by(Item.id)))
        tallies = await self._tallies(session, campaign.id) if items else {}
        result = []
        for item in items:
            key = str(item.gold_label)
            others = [(n, label) for label, n in tallies.get(item.id, Counter()).items()
                      if label != key]
            suggestion = max(others)[1] if others else None
            code = label_code(campaign, suggestion) if suggestion is not None else None
            result.append(FlaggedGold(item.id, preview(item), key, str(item.gold_flag),
                                      suggestion, code))
        return result

    async def _candidates(self, session: AsyncSession, campaign: Campaign,
                          limit: int) -> list[Candidate]:
        return await promotion_candidates(session, campaign, self._settings.promote_confidence,
                                          limit)

    # -------------------------------------------------------------- decisions

    async def promote(self, item_id: int, by: Viewer) -> int:
        """Make a candidate gold with its consensus label as the key; returns its campaign id."""
        async with self._sm() as session:
            item, campaign = await self._item(session, item_id, by)
            if item.is_gold:
                raise GoldRefused(f"Item #{item.id} is gold already.")
            if not await is_candidate(session, item, campaign,
                                      self._settings.promote_confidence):
                raise GoldRefused(f"Item #{item.id} is not a promotion candidate: it needs a "
                                  "confident, unanimous consensus label.")
            item.is_gold, item.gold_label = True, item.consensus_label
            item.gold_source, item.gold_flag = PROMOTED, None
            audit(session, "gold.promoted", "item", item.id, actor=str(by.telegram_id),
                  campaign=campaign.id, key=item.gold_label, confidence=item.confidence)
            await session.commit()
            return campaign.id

    async def fix_key(self, item_id: int, label: str, by: Viewer) -> int:
        """Replace a gold key (and clear its flag); returns the campaign id."""
        async with self._sm() as session:
            item, campaign = await self._gold_item(session, item_id, by)
            key = canonical_label(campaign.task_type, tuple(campaign.label_options), label)
            if key is None:
                raise GoldRefused(f"“{escape(label)}” is not an answer campaign #{campaign.id} "
                                  "allows.")
            if key == item.gold_label:
                raise GoldRefused(f"The key of item #{item.id} is “{escape(key)}” already.")
            previous, item.gold_label, item.gold_flag = item.gold_label, key, None
            await session.flush()
            regraded = await regrade_gold(session, item, campaign, self._curve, self._prior)
            audit(session, "gold.key_fixed", "item", item.id, actor=str(by.telegram_id),
                  campaign=campaign.id, previous=previous, key=key, regraded=regraded)
            await session.commit()
            return campaign.id

    async def fix_key_code(self, item_id: int, code: int, by: Viewer) -> int:
        """The “Use X” button of a flagged key: `fix_key` with the label named by `code` (see
        `label_codes.label_code`). Refused once the flag is gone: a stale button must not undo a
        decision (e.g. a key the manager chose to keep)."""
        async with self._sm() as session:
            item, campaign = await self._gold_item(session, item_id, by)
            label = label_from_code(campaign, code)
            if item.gold_flag is None or label is None:
                raise GoldRefused(f"The key of item #{item.id} is not flagged any more: "
                                  "send /gold again.")
        return await self.fix_key(item_id, label, by)

    async def drop_gold(self, item_id: int, by: Viewer) -> int:
        """The item stops being gold and becomes a normal item; returns the campaign id."""
        async with self._sm() as session:
            item, campaign = await self._gold_item(session, item_id, by)
            previous = item.gold_label
            item.is_gold, item.gold_label, item.gold_flag = False, None, None
            item.gold_source = item.gold_source or "file"  # remembers it was gold
            await session.flush()
            regraded = await regrade_gold(session, item, campaign, self._curve, self._prior)
            audit(session, "gold.dropped", "item", item.id, actor=str(by.telegram_id),
                  campaign=campaign.id, previous=previous, regraded=regraded)
            await session.commit()
            return campaign.id

    async def keep_key(self, item_id: int, by: Viewer) -> int:
        """The manager checked the key: clear the flag (not raised again for this key)."""
        async with self._sm() as session:
            item, campaign = await self._gold_item(session, item_id, by)
            if item.gold_flag is None:
                raise GoldRefused(f"The key of item #{item.id} is not flagged (any more).")
            evidence, item.gold_flag = item.gold_flag, None
            audit(session, "gold.kept", "item", item.id, actor=str(by.telegram_id),
                  campaign=campaign.id, key=item.gold_label, evidence=evidence)
            await session.commit()
            return campaign.id

    # -------------------------------------------------------------- helpers

    async def _campaign(self, session: AsyncSession, campaign_id: int,
                        viewer: Viewer | None) -> Campaign:
        if viewer is not None:
            return await self._access._get(session, viewer, campaign_id)
        campaign = await session.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"Campaign {campaign_id} was not found.")
        return campaign

    async def _item(self, session: AsyncSession, item_id: int,
                    by: Viewer) -> tuple[Item, Campaign]:
        # Locked: two managers tapping at once must not both act on one item.
        item = await session.scalar(select(Item).where(Item.id == item_id).with_for_update())
        missing = NotFound(f"Item #{item_id} is not in one of your campaigns.")
        if item is None:
            raise missing
        try:
            campaign = await self._access._get(session, by, item.campaign_id)
        except NotFound:
            raise missing from None
        return item, campaign

    async def _gold_item(self, session: AsyncSession, item_id: int,
                         by: Viewer) -> tuple[Item, Campaign]:
        item, campaign = await self._item(session, item_id, by)
        if not item.is_gold:
            raise GoldRefused(f"Item #{item.id} is not gold (any more).")
        return item, campaign
