"""Funding a campaign's escrow in the RewardVault, and starting the campaign once it is funded.

Budget = items × max overlap × rate × max multiplier: the most the campaign can cost. Hidden
gold, which every worker may meet, is held inside it: a gold answer past its item's own max
answers is handed out only while the budget has room for it (gold_budget.py), room that resolved
items' unused answers and the multiplier headroom of decided answers leave.

On a local chain (the embedded anvil) the operator's signer mints the budget into the vault;
elsewhere the manager deposits it from their own wallet (approve, then `fund`) and "Check
funding" reads the escrow. Either way the campaign stays a draft, handing out no tasks, until
the vault holds the whole budget.

Later, what is missing is the budget not yet paid out or held in escrow, or — if the rewards
workers have earned outgrow the escrow (the settlement then tells the manager; a campaign whose
gold outran its budget before gold was held to it, say) — at least what they are owed; `/fund`
tops up that, never the amounts already paid.

Re-running is always safe: the vault campaign id is stored before any funding (see
`SettlementService.open_campaign_onchain`), and a mint tops up only the shortfall read from the
chain, so a crash between mint and activation is repaired by the next `/fund`.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from dataclasses import dataclass, replace

from sqlalchemy import func, select, update

from agreemint.chain.context import ChainContext
from agreemint.domain import CampaignStatus
from agreemint.errors import AgreemintError, InvalidInput, NotFound
from agreemint.money import MICRO_TO_WEI
from agreemint.multiplier import MULTIPLIER_SCALE, QualityCurve
from agreemint.services.audit import audit
from agreemint.services.rewards import ledger_totals
from agreemint.services.settlement import SettlementService
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Campaign, Item

MIN_RUNTIME_SECONDS = 3_600  # the vault refuses an end time in its past; keep an hour of slack


class NoChain(AgreemintError):
    user_message = "Funding needs the chain, and this bot runs without one. Ask the operator."


class NotYourCampaign(AgreemintError):
    user_message = "That campaign belongs to another manager."


class FundingState(enum.StrEnum):
    """Where a campaign's funding stands after a `fund` or `check`."""

    ACTIVE = "active"  # funded and handing out tasks
    AWAITING_DEPOSIT = "awaiting_deposit"  # the manager has to deposit (see the steps)
    NOT_DRAFT = "not_draft"  # paused or closed: funding does not change its status


@dataclass(frozen=True, slots=True)
class FundingView:
    """Everything the chat shows about a campaign's funding, including the deposit steps."""

    campaign_id: int
    name: str
    state: FundingState
    status: str
    budget_wei: int
    escrow_wei: int
    chain_campaign_id: int | None
    vault: str
    token: str
    minted_wei: int = 0  # minted by this call
    paid_wei: int = 0  # paid out of the escrow so far (the vault's count)
    owed_wei: int = 0  # earned and not paid yet: verified or held ledger entries

    @property
    def shortfall_wei(self) -> int:
        return shortfall(self.budget_wei, self.escrow_wei, self.paid_wei, self.owed_wei)


def shortfall(budget: int, escrow: int, paid: int, owed: int) -> int:
    """What the escrow misses: the budget not yet paid out, and at least what workers are owed."""
    return max(0, budget - escrow - paid, owed - escrow)


def campaign_budget(items: int, max_overlap: int, rate_micro: int, max_multiplier_bps: int) -> int:
    """Token units (wei) that cover every possible payout: floor, like the contract's math."""
    rate_wei = rate_micro * MICRO_TO_WEI
    return items * max_overlap * rate_wei * max_multiplier_bps // MULTIPLIER_SCALE


class FundingService:
    """Budgets, vault campaigns, mint-or-deposit funding and activation; everything audited."""

    def __init__(
        self,
        sessionmaker: SessionMaker,
        settlement: SettlementService | None,
        chain: ChainContext | None,
        *,
        curve: QualityCurve,
        allow_mint: bool,
    ) -> None:
        self._sm = sessionmaker
        self._settlement = settlement
        self._chain = chain
        self._curve = curve
        self._allow_mint = allow_mint
        # Two /fund taps at once in this process must not both mint the shortfall.
        self._lock = asyncio.Lock()

    @property
    def mints(self) -> bool:
        """True when funding mints (local chain); False when the manager deposits."""
        return self._allow_mint

    @property
    def symbol(self) -> str:
        return self._chain.sender.settings.token_symbol if self._chain is not None else "LBL"

    def budget(self, items: int, max_overlap: int, rate_micro: int) -> int:
        return campaign_budget(items, max_overlap, rate_micro, self._curve.max_multiplier)

    async def fund(self, campaign_id: int, *, actor_id: int, admin: bool = False) -> FundingView:
        """Open the vault campaign and mint the shortfall (or leave it to the manager); activate."""
        async with self._lock:
            budget = await self._prepare(campaign_id, actor_id, admin)
            settlement, chain = self._need_chain()
            ends_at = await self._ends_at(campaign_id, chain)
            # fund_wei=0: only open it here; the shortfall is computed from the chain below.
            chain_id = await settlement.open_campaign_onchain(
                campaign_id, fund_wei=0, mint=self._allow_mint, ends_at=ends_at)
            info = await chain.vault.campaign(chain_id)
            missing = shortfall(budget, info.escrow, info.paid, await self._owed(campaign_id))
            minted = missing if self._allow_mint else 0
            if minted:
                await settlement.fund_campaign(campaign_id, minted, mint=True)
            elif missing:
                await self._audit(campaign_id, "campaign.deposit_requested", str(actor_id),
                                  chain_id=chain_id, amount_wei=str(missing))
            view = await self._settle_status(campaign_id, str(actor_id))
            return replace(view, minted_wei=minted)

    async def check(self, campaign_id: int, *, actor_id: int, admin: bool = False) -> FundingView:
        """Read the escrow; a draft whose escrow covers the budget becomes active."""
        async with self._lock:
            await self._prepare(campaign_id, actor_id, admin)
            return await self._settle_status(campaign_id, str(actor_id))

    # -------------------------------------------------------------- internals

    def _need_chain(self) -> tuple[SettlementService, ChainContext]:
        if self._settlement is None or self._chain is None:
            raise NoChain()
        return self._settlement, self._chain

    async def _prepare(self, campaign_id: int, actor_id: int, admin: bool) -> int:
        """Check access, store the budget (from the items as they are now) and return it."""
        async with self._sm() as s:
            campaign = await s.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"There is no campaign {campaign_id}.")
            if campaign.owner_id not in (None, actor_id) and not admin:
                raise NotYourCampaign()
            items = int(await s.scalar(select(func.count()).select_from(Item)
                                       .where(Item.campaign_id == campaign_id)) or 0)
            budget = self.budget(items, campaign.overlap_cap, campaign.reward_rate_micro)
            if budget <= 0:
                raise InvalidInput("This campaign has no reward rate, so there is nothing to fund.")
            if campaign.budget_wei != budget:
                campaign.budget_wei = budget
                await s.commit()
            return budget

    async def _audit(self, campaign_id: int, action: str, actor: str, **data: object) -> None:
        async with self._sm() as s:
            audit(s, action, "campaign", campaign_id, actor=actor, **data)
            await s.commit()

    async def _ends_at(self, campaign_id: int, chain: ChainContext) -> int | None:
        """The vault's end time: the deadline, but never before the chain's clock allows."""
        async with self._sm() as s:
            deadline = await s.scalar(select(Campaign.deadline).where(Campaign.id == campaign_id))
        if deadline is None:
            return None  # the settlement service's default (a year)
        block = await chain.w3.eth.get_block("latest")
        now = max(int(block["timestamp"]), int(time.time()))
        # Rounded up: the vault must never end before the deadline, even by a fraction.
        return max(math.ceil(deadline.timestamp()), now + MIN_RUNTIME_SECONDS)

    async def _settle_status(self, campaign_id: int, actor: str) -> FundingView:
        """Read the escrow, record it, and activate a draft that is fully funded."""
        _settlement, chain = self._need_chain()
        async with self._sm() as s:
            campaign = await s.get_one(Campaign, campaign_id)
            chain_id = campaign.chain_campaign_id
        info = await chain.vault.campaign(chain_id) if chain_id is not None else None
        escrow, paid = (info.escrow, info.paid) if info is not None else (0, 0)
        async with self._sm() as s:
            campaign = await s.get_one(Campaign, campaign_id)
            if campaign.funded_wei != escrow:
                campaign.funded_wei = escrow
                audit(s, "campaign.escrow_read", "campaign", campaign_id, actor=actor,
                      escrow_wei=str(escrow), budget_wei=str(campaign.budget_wei))
            if campaign.status == CampaignStatus.DRAFT and escrow >= campaign.budget_wei:
                # Guarded update: only a draft is started, never a paused or closed campaign.
                await s.execute(update(Campaign).where(
                    Campaign.id == campaign_id, Campaign.status == CampaignStatus.DRAFT,
                ).values(status=CampaignStatus.ACTIVE))
                audit(s, "campaign.activated", "campaign", campaign_id, actor=actor,
                      escrow_wei=str(escrow), budget_wei=str(campaign.budget_wei))
            await s.commit()
            campaign = await s.get_one(Campaign, campaign_id)
            await s.refresh(campaign)
            view = self._view(campaign, escrow)
        return replace(view, paid_wei=paid, owed_wei=await self._owed(campaign_id))

    async def _owed(self, campaign_id: int) -> int:
        """Earned and not paid yet: what the escrow must hold at the least."""
        async with self._sm() as s:
            return sum((await ledger_totals(s, campaign_id, ("verified", "held"))).values())

    def _view(self, campaign: Campaign, escrow: int) -> FundingView:
        status = campaign.status
        if status == CampaignStatus.ACTIVE:
            state = FundingState.ACTIVE
        elif status == CampaignStatus.DRAFT:
            state = FundingState.AWAITING_DEPOSIT
        else:
            state = FundingState.NOT_DRAFT
        assert self._chain is not None
        return FundingView(
            campaign_id=campaign.id, name=campaign.name, state=state, status=status,
            budget_wei=campaign.budget_wei, escrow_wei=escrow,
            chain_campaign_id=campaign.chain_campaign_id, vault=self._chain.vault.address,
            token=self._chain.deployment.token,
        )

