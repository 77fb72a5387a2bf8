"""A manager's view and control of campaigns: list, card figures, pause, resume, close, extend.

Managers see and control the campaigns they own; admins every campaign. Each state change is
audited in the transaction that makes it. Closing a campaign that has a vault escrow refunds the
remainder on-chain first and marks the row closed after, so a crash in between is repaired by
closing again (the vault already closed: only the row changes). Extending one moves the vault's
end first and the deadline after, for the same reason: a vault end later than the deadline is
harmless, an earlier one lets the funder take the escrow while workers are still owed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.chain.context import ChainContext
from agreemint.chain.errors import RewardVaultEndTimeNotLater
from agreemint.domain import CampaignStatus
from agreemint.errors import AgreemintError, NotFound
from agreemint.multiplier import QUALITY_SCALE, QualityCurve
from agreemint.services.audit import audit
from agreemint.services.gold_budget import gold_room
from agreemint.services.rewards import ledger_totals
from agreemint.store.engine import SessionMaker
from agreemint.store.models import (
    Answer,
    Campaign,
    ConsensusRound,
    Item,
    LedgerEntry,
    RoundResult,
    WorkerQuality,
)
from agreemint.store.types import utcnow
from consensus import AnswerMatrix, krippendorff_alpha

log = logging.getLogger(__name__)

RATE_WINDOW = 200  # answers the ETA's rate is measured over: recent pace, not the lifetime mean
MAX_EXTENSION = timedelta(days=365)


class ControlRefused(AgreemintError):
    """A transition that is not allowed now; the message says why and what to do instead.

    Messages name campaigns by id, never by name: the bot sends user messages as HTML.
    """


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: managers act on their own campaigns, admins on all."""

    telegram_id: int
    worker_id: int | None
    admin: bool = False


@dataclass(frozen=True, slots=True)
class CampaignLine:
    id: int
    name: str
    status: str
    items_done: int
    items_total: int


@dataclass(frozen=True, slots=True)
class CampaignCard:
    id: int
    name: str
    status: str
    deadline: datetime | None
    items_done: int  # regular (non-gold) items with a consensus label
    items_total: int
    answers: int
    workers: int
    mean_confidence: float | None  # over labeled items
    agreement: float | None  # Krippendorff's alpha (nominal) over all answers; None if undefined
    spent_wei: int  # paid + verified (owed) rewards
    paid_wei: int
    budget_wei: int
    funded_wei: int
    answers_per_hour: float | None  # over the last RATE_WINDOW answers
    eta: datetime | None  # when the minimum overlap is reached at that pace
    on_chain: bool
    # Gold in a funded campaign (gold_budget.py): how many more gold answers past each gold
    # item's own max answers the budget still pays; None without gold or without a budget.
    gold_room: int | None = None
    gold_answers: int = 0


@dataclass(frozen=True, slots=True)
class ChartData:
    """Inputs of the card chart, read in one place so charts.py never touches the database."""

    answer_times: list[datetime]
    labeled_times: list[datetime]
    items_total: int
    qualities: list[float]  # latest estimate per worker, in [0, 1]
    min_quality: float


@dataclass(frozen=True, slots=True)
class CloseResult:
    refunded_wei: int | None  # None: nothing on-chain to refund


class CampaignControl:
    def __init__(
        self,
        sessionmaker: SessionMaker,
        chain: ChainContext | None,
        curve: QualityCurve | None = None,
        clock: Callable[[], datetime] = utcnow,
        symbol: str = "LBL",
    ) -> None:
        self._sm = sessionmaker
        self.symbol = symbol  # the token's, for amounts on the card
        self._chain = chain
        self._curve = curve or QualityCurve()
        self._now = clock

    # -------------------------------------------------------------- reading

    async def list_for(self, viewer: Viewer, limit: int = 30) -> list[CampaignLine]:
        """Newest first; a manager's own campaigns, or all for an admin."""
        done = func.count(Item.id).filter(Item.resolved.is_(True), Item.is_gold.is_(False))
        total = func.count(Item.id).filter(Item.is_gold.is_(False))
        query = (
            select(Campaign.id, Campaign.name, Campaign.status, done, total)
            .outerjoin(Item, Item.campaign_id == Campaign.id)
            .group_by(Campaign.id, Campaign.name, Campaign.status)
            .order_by(Campaign.id.desc())
            .limit(limit)
        )
        if not viewer.admin:
            query = query.where(Campaign.owner_id == viewer.worker_id)
        async with self._sm() as session:
            rows = (await session.execute(query)).all()
        return [CampaignLine(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows]

    async def card(self, viewer: Viewer, campaign_id: int) -> CampaignCard:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            done, total, confidence, remaining = (await session.execute(
                select(
                    func.count().filter(Item.resolved.is_(True)),
                    func.count(),
                    func.avg(Item.confidence).filter(Item.resolved.is_(True)),
                    # answers still needed to reach the minimum overlap on open items
                    func.sum(c.overlap - Item.answers_count).filter(
                        Item.resolved.is_(False), Item.answers_count < c.overlap),
                ).where(Item.campaign_id == c.id, Item.is_gold.is_(False))
            )).one()
            triples = (await session.execute(
                select(Answer.item_id, Answer.worker_id, Answer.label, Answer.answered_at)
                .join(Item, Item.id == Answer.item_id).where(Item.campaign_id == c.id)
            )).all()
            money = await ledger_totals(session, c.id, ("paid", "verified"))
            gold = await gold_room(session, c)
        rate = _answers_per_hour(sorted(t[3] for t in triples))
        eta = None
        if rate and remaining:
            eta = self._now() + timedelta(hours=int(remaining) / rate)
        paid, verified = money["paid"], money["verified"]
        return CampaignCard(
            id=c.id, name=c.name, status=c.status, deadline=c.deadline,
            items_done=int(done), items_total=int(total), answers=len(triples),
            workers=len({t[1] for t in triples}),
            mean_confidence=None if confidence is None else float(confidence),
            agreement=_alpha([(t[0], t[1], t[2]) for t in triples]),
            spent_wei=paid + verified, paid_wei=paid, budget_wei=c.budget_wei,
            funded_wei=c.funded_wei, answers_per_hour=rate, eta=eta,
            on_chain=c.chain_campaign_id is not None,
            gold_room=gold.extra_gold if gold is not None and gold.gold_items else None,
            gold_answers=gold.gold_answers if gold is not None else 0,
        )

    async def chart_data(self, viewer: Viewer, campaign_id: int) -> ChartData:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            answer_times = list(await session.scalars(
                select(Answer.answered_at).join(Item, Item.id == Answer.item_id)
                .where(Item.campaign_id == c.id).order_by(Answer.answered_at)
            ))
            # An item counts as labeled when the last round that judged it finished.
            labeled = list(await session.scalars(
                select(func.max(ConsensusRound.finished_at))
                .join(RoundResult, RoundResult.round_id == ConsensusRound.id)
                .join(Item, Item.id == RoundResult.item_id)
                .where(Item.campaign_id == c.id, Item.resolved.is_(True),
                       Item.is_gold.is_(False), ConsensusRound.finished_at.is_not(None))
                .group_by(Item.id)
            ))
            total = await session.scalar(select(func.count()).where(
                Item.campaign_id == c.id, Item.is_gold.is_(False)))
            latest = (
                select(WorkerQuality.worker_id, func.max(WorkerQuality.round_id).label("rid"))
                .join(ConsensusRound, ConsensusRound.id == WorkerQuality.round_id)
                .where(ConsensusRound.campaign_id == c.id)
                .group_by(WorkerQuality.worker_id).subquery()
            )
            qualities = list(await session.scalars(
                select(WorkerQuality.accuracy).join(latest, (
                    WorkerQuality.worker_id == latest.c.worker_id)
                    & (WorkerQuality.round_id == latest.c.rid))
            ))
        return ChartData(answer_times, sorted(t for t in labeled if t is not None),
                         int(total or 0), qualities, self._curve.min_quality / QUALITY_SCALE)

    # -------------------------------------------------------------- control

    async def pause(self, viewer: Viewer, campaign_id: int) -> None:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status != CampaignStatus.ACTIVE:
                raise ControlRefused(f"Only a running campaign can be paused; "
                                     f"campaign #{c.id} is {c.status}.")
            self._set(session, viewer, c, CampaignStatus.PAUSED, "campaign.paused")
            await session.commit()

    async def resume(self, viewer: Viewer, campaign_id: int) -> None:
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status != CampaignStatus.PAUSED:
                raise ControlRefused(f"Only a paused campaign can be resumed; "
                                     f"campaign #{c.id} is {c.status}.")
            if c.deadline is not None and c.deadline <= self._now():
                raise ControlRefused("The deadline has passed: extend it before resuming.")
            self._set(session, viewer, c, CampaignStatus.ACTIVE, "campaign.resumed")
            await session.commit()

    async def extend(self, viewer: Viewer, campaign_id: int, new_deadline: datetime) -> datetime:
        """Move the deadline later, and the vault's end with it when it would end earlier.

        The vault goes first: a crash before the row is written leaves the vault later than the
        deadline (harmless), and the retry finds the vault late enough and sends nothing.
        """
        if new_deadline.tzinfo is None:
            raise ValueError("new_deadline must be timezone-aware")
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            self._check_extension(c, new_deadline)
            chain_id = c.chain_campaign_id
        if chain_id is not None:
            await self._extend_vault(campaign_id, chain_id, new_deadline)
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            self._check_extension(c, new_deadline)  # again: it may have changed meanwhile
            previous, c.deadline = c.deadline, new_deadline
            audit(session, "campaign.extended", "campaign", c.id, actor=str(viewer.telegram_id),
                  previous=previous.isoformat() if previous else None,
                  deadline=new_deadline.astimezone(UTC).isoformat())
            await session.commit()
            return new_deadline

    def _check_extension(self, c: Campaign, new_deadline: datetime) -> None:
        now = self._now()
        if c.status == CampaignStatus.CLOSED:
            raise ControlRefused("A closed campaign cannot be extended.")
        if new_deadline <= now or (c.deadline is not None and new_deadline <= c.deadline):
            raise ControlRefused("The new deadline must be later than now and than the "
                                 "current deadline.")
        if new_deadline > now + MAX_EXTENSION:
            raise ControlRefused("A deadline can be at most a year ahead.")

    async def _extend_vault(self, campaign_id: int, chain_id: int, deadline: datetime) -> None:
        """Make the vault's end no earlier than `deadline`, or refuse (the deadline stays)."""
        if self._chain is None:
            raise ControlRefused("The payment network is not connected, so the escrow's end "
                                 "cannot move; the deadline is unchanged. Try again later.")
        vault = self._chain.vault
        ends_at = math.ceil(deadline.timestamp())  # whole seconds on-chain: never round earlier
        try:
            info = await vault.campaign(chain_id)
            if not info.closed and info.ends_at < ends_at:
                await vault.extend(chain_id, ends_at)
        except RewardVaultEndTimeNotLater:
            return  # a concurrent extension moved the vault at least as far between read and send
        except Exception as exc:  # reverts, RPC down, timeouts: the deadline stays, retry is safe
            log.warning("extending vault campaign %s to %s failed", chain_id, ends_at,
                        exc_info=True)
            raise ControlRefused(
                f"The deadline of campaign #{campaign_id} is unchanged: the payment network "
                "did not take the escrow's new end time. Try again later.") from exc
        if info.closed:  # refunded on-chain by a close that crashed before the row changed
            raise ControlRefused(f"The escrow of campaign #{campaign_id} was already refunded, "
                                 "so it cannot be extended; close the campaign.")

    async def extend_by(self, viewer: Viewer, campaign_id: int, days: int) -> datetime:
        """Push the deadline `days` later (from now if it has passed or is not set)."""
        if not 1 <= days <= MAX_EXTENSION.days:
            raise ControlRefused(f"Extend by 1 to {MAX_EXTENSION.days} days.")
        now = self._now()
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            base = max(c.deadline or now, now)
        return await self.extend(viewer, campaign_id, base + timedelta(days=days))

    async def close(self, viewer: Viewer, campaign_id: int) -> CloseResult:
        """Stop the campaign for good and refund the vault's remainder to its funder.

        Refused while rewards are still owed (pending or verified): after the vault closes,
        they could never be paid.
        """
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id)
            await self._check_closable(session, c)
            chain_id = c.chain_campaign_id
        refunded = await self._refund(chain_id) if chain_id is not None else None
        async with self._sm() as session:
            c = await self._get(session, viewer, campaign_id, for_update=True)
            if c.status == CampaignStatus.CLOSED:  # a concurrent close got here first
                return CloseResult(refunded)
            self._set(session, viewer, c, CampaignStatus.CLOSED, "campaign.closed",
                      refunded_wei=str(refunded) if refunded is not None else None)
            await session.commit()
        return CloseResult(refunded)

    async def _check_closable(self, session: AsyncSession, c: Campaign) -> None:
        if c.status == CampaignStatus.CLOSED:
            raise ControlRefused(f"Campaign #{c.id} is already closed.")
        owed = await session.scalar(select(func.count()).where(
            LedgerEntry.campaign_id == c.id, LedgerEntry.status.in_(("pending", "verified"))))
        if owed:
            raise ControlRefused(
                f"{owed} rewards are still being assessed or paid; pause the campaign and close "
                "it once they are settled.")
        if c.chain_campaign_id is not None and self._chain is None:
            raise ControlRefused("The payment network is not connected, so the escrow cannot "
                                 "be refunded now. Try again later.")

    async def _refund(self, chain_id: int) -> int:
        assert self._chain is not None
        vault = self._chain.vault
        info = await vault.campaign(chain_id)
        if info.closed:  # closed on-chain earlier (e.g. a crash before the row was updated)
            return 0
        unlocks_at = info.ends_at
        # Our signer closes from the end as a manager; as a mere funder it waits out the window
        # the vault keeps for settling the last answers.
        if not await vault.has_role("MANAGER_ROLE", self._chain.sender.address):
            unlocks_at += await vault.settlement_window()
        block = await self._chain.w3.eth.get_block("latest")
        if int(block["timestamp"]) < unlocks_at:
            ends = datetime.fromtimestamp(unlocks_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise ControlRefused(
                f"The escrow is locked on-chain until {ends}; the remainder can be refunded "
                "only after that. Pause the campaign meanwhile.")
        return await vault.close(chain_id)  # a revert surfaces as a typed ChainError

    # -------------------------------------------------------------- helpers

    async def _get(
        self, session: AsyncSession, viewer: Viewer, campaign_id: int, for_update: bool = False
    ) -> Campaign:
        query = select(Campaign).where(Campaign.id == campaign_id)
        if for_update:
            query = query.with_for_update()
        campaign = await session.scalar(query)
        # A manager asking for someone else's campaign learns nothing about it.
        if campaign is None or not (viewer.admin or campaign.owner_id == viewer.worker_id):
            raise NotFound(f"Campaign {campaign_id} is not one of yours.")
        return campaign

    def _set(self, session: AsyncSession, viewer: Viewer, c: Campaign, status: str, action: str,
             **data: object) -> None:
        previous, c.status = c.status, status
        audit(session, action, "campaign", c.id, actor=str(viewer.telegram_id),
              previous=previous, **data)


def _alpha(triples: list[tuple[int, int, str]]) -> float | None:
    if not triples:
        return None
    items, workers, labels = zip(*triples, strict=True)
    value = krippendorff_alpha(AnswerMatrix.from_triples(items, workers, labels), "nominal")
    return None if np.isnan(value) else value


def _answers_per_hour(times: list[datetime]) -> float | None:
    recent = times[-RATE_WINDOW:]
    if len(recent) < 2:
        return None
    span = (recent[-1] - recent[0]).total_seconds()
    return (len(recent) - 1) * 3600.0 / span if span > 0 else None
