"""Flagging gold keys that good workers disagree with, after each round.

`flag_bad_gold` looks at every gold item's task answers from *good* workers (prior-weighted
quality of the campaign's latest round ≥ `good_worker_quality`). When enough of them answered
and most disagree with the key, the key is probably wrong: the item gets a `gold_flag` with the
evidence and the campaign's owner is told once (per item and key). A key a manager chose to keep
is not flagged again; the manager's side is gold_review.py.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from html import escape

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.config import TrustSettings
from agreemint.services.audit import audit
from agreemint.services.rewards import latest_qualities, posterior_quality
from agreemint.services.standing import Purpose
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, AuditEntry, Campaign, Item, Notification


class GoldFlags:
    """Bad-key flags and the good workers' answer tallies they are based on."""

    def __init__(self, sessionmaker: SessionMaker, settings: TrustSettings,
                 prior: tuple[float, float]) -> None:
        self._sm = sessionmaker
        self._settings = settings
        self._prior = prior

    async def flag_bad_gold(self, campaign_id: int) -> list[int]:
        """Flag gold keys most good workers disagree with; returns the newly flagged item ids."""
        async with self._sm() as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None:
                return []
            tallies = await self._tallies(session, campaign_id)
            items = list(await session.scalars(select(Item).where(
                Item.campaign_id == campaign_id, Item.is_gold.is_(True),
                Item.gold_label.is_not(None), Item.gold_flag.is_(None))))
            kept = await self._kept_keys(session, [i.id for i in items])
            flagged = []
            for item in items:
                key = str(item.gold_label)
                evidence = self._evidence(tallies.get(item.id, Counter()), key)
                if evidence is None or (item.id, key) in kept:
                    continue
                item.gold_flag = evidence
                audit(session, "gold.flagged", "item", item.id, campaign=campaign_id, key=key,
                      evidence=evidence)
                await self._notify_owner(session, campaign, item, key, evidence)
                flagged.append(item.id)
            await session.commit()
            return flagged

    def _evidence(self, tally: Counter[str], key: str) -> str | None:
        total = sum(tally.values())
        disagree = total - tally.get(key, 0)
        if total < self._settings.bad_gold_min_answers or 2 * disagree <= total:
            return None
        other, count = max(((label, n) for label, n in tally.items() if label != key),
                           key=lambda pair: (pair[1], pair[0]))
        return (f"{count} of {total} good workers answered “{other}”, "
                f"the key says “{key}”")

    async def _tallies(self, session: AsyncSession, campaign_id: int) -> dict[int, Counter[str]]:
        """Per gold item: the task answers of the campaign's good workers, counted by label."""
        good = {q.worker_id for q in await latest_qualities(session, campaign_id)
                if posterior_quality(q, self._prior) >= self._settings.good_worker_quality}
        tallies: dict[int, Counter[str]] = {}
        rows = await session.execute(
            select(Answer.item_id, Answer.worker_id, Answer.label)
            .join(Item, Item.id == Answer.item_id)
            # Training answers are made by learners and followed by the key: not evidence.
            .where(Item.campaign_id == campaign_id, Item.is_gold.is_(True),
                   Answer.purpose == Purpose.TASK))
        for item_id, worker_id, label in rows:
            if worker_id in good:
                tallies.setdefault(int(item_id), Counter())[str(label)] += 1
        return tallies

    async def _kept_keys(self, session: AsyncSession, item_ids: list[int]) -> set[tuple[int, str]]:
        """(item, key) pairs a manager chose to keep: not flagged again for the same key."""
        if not item_ids:
            return set()
        rows = await session.scalars(select(AuditEntry).where(
            AuditEntry.action == "gold.kept", AuditEntry.entity == "item",
            AuditEntry.entity_id.in_([str(i) for i in item_ids])))
        return {(int(e.entity_id), str(e.data.get("key"))) for e in rows}

    async def _notify_owner(self, session: AsyncSession, campaign: Campaign, item: Item,
                            key: str, evidence: str) -> None:
        if campaign.owner_id is None:
            return
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        text = (f"Campaign #{campaign.id}: the gold key of item #{item.id} looks wrong. "
                f"{escape(evidence)}. Review it with /gold {campaign.id}")
        try:  # one message per item and key, even if a flag is cleared and set again
            async with session.begin_nested():
                session.add(Notification(worker_id=campaign.owner_id, text=text,
                                         dedupe_key=f"gold-flag:{item.id}:{digest}"))
        except IntegrityError:
            pass
