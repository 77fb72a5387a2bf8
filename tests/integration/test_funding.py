"""Funding on a real anvil node, on both database backends: mint on a local chain, deposit
elsewhere; a campaign starts only once its escrow covers the budget."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agreemint.domain import CampaignStatus, ItemKind
from agreemint.errors import InvalidInput, NotFound
from agreemint.money import WEI_PER_TOKEN
from agreemint.multiplier import QualityCurve
from agreemint.runtime import Services
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.funding import (
    FundingService,
    FundingState,
    NoChain,
    NotYourCampaign,
    campaign_budget,
)
from agreemint.services.itemfile import ItemSpec
from agreemint.store.models import AuditEntry, Campaign
from tests.factories import make_workers
from tests.integration.rewards.conftest import Rig, chain, rig

__all__ = ["chain", "rig"]  # fixtures imported for pytest

RATE_MICRO = 50_000  # 0.05 token per verified label


def funding(rig: Rig, *, mint: bool) -> FundingService:
    curve = rig.services.rewards._curve  # read from the vault by the rig
    return FundingService(rig.services.sessionmaker, rig.settlement, rig.chain, curve=curve,
                          allow_mint=mint)


async def draft(services: Services, owner: int | None, items: int = 6) -> int:
    spec = CampaignSpec(name="Pets", instructions="Pick.", options=("cat", "dog"), overlap=2,
                        max_overlap=4, reward_rate_micro=RATE_MICRO, owner_id=owner)
    specs = [ItemSpec(f"i{n}", ItemKind.TEXT, f"item {n}", None, None) for n in range(items)]
    return await services.campaigns.create(spec, specs, activate=False)


async def status(services: Services, campaign_id: int) -> Campaign:
    async with services.sessionmaker() as s:
        return await s.get_one(Campaign, campaign_id)


async def actions(services: Services, campaign_id: int) -> list[str]:
    async with services.sessionmaker() as s:
        rows = await s.scalars(select(AuditEntry.action).where(
            AuditEntry.entity == "campaign", AuditEntry.entity_id == str(campaign_id)
        ).order_by(AuditEntry.id))
        return list(rows)


def test_budget_formula() -> None:
    # 6 items × 4 answers × 0.05 token × 1.5 = 1.8 tokens
    assert campaign_budget(6, 4, RATE_MICRO, 15_000) == 18 * WEI_PER_TOKEN // 10
    assert campaign_budget(0, 4, RATE_MICRO, 15_000) == 0


async def test_mint_on_local_chain_funds_and_activates(rig: Rig) -> None:
    services = rig.services
    (owner,) = await make_workers(services, 1)
    cid = await draft(services, owner.id)
    assert (await services.tasks.next_task(owner.id)) is None  # a draft hands out nothing
    service = funding(rig, mint=True)
    view = await service.fund(cid, actor_id=owner.id)
    budget = 6 * 4 * RATE_MICRO * 10**12 * 15 // 10
    assert view.state == FundingState.ACTIVE and view.budget_wei == budget
    assert view.minted_wei == budget and view.escrow_wei == budget
    row = await status(services, cid)
    assert row.status == CampaignStatus.ACTIVE and row.funded_wei == budget
    assert row.budget_wei == budget and row.chain_campaign_id is not None
    assert (await rig.chain.vault.campaign(row.chain_campaign_id)).escrow == budget
    assert await services.tasks.next_task(owner.id) is not None  # now it serves tasks
    again = await service.fund(cid, actor_id=owner.id)  # idempotent: nothing more is minted
    assert again.minted_wei == 0 and again.escrow_wei == budget
    assert (await rig.chain.vault.campaign(row.chain_campaign_id)).escrow == budget
    assert actions_subset(await actions(services, cid), [
        "campaign.created", "campaign.onchain", "campaign.funded", "campaign.activated"])


def actions_subset(seen: list[str], wanted: list[str]) -> bool:
    return all(a in seen for a in wanted) and seen.count("campaign.funded") == 1


async def test_deposit_path_waits_for_the_whole_budget(rig: Rig) -> None:
    services = rig.services
    (owner,) = await make_workers(services, 1)
    cid = await draft(services, owner.id)
    service = funding(rig, mint=False)
    view = await service.fund(cid, actor_id=owner.id)
    assert view.state == FundingState.AWAITING_DEPOSIT and view.escrow_wei == 0
    assert view.chain_campaign_id is not None and view.shortfall_wei == view.budget_wei
    assert view.vault == rig.chain.vault.address and view.token == rig.chain.deployment.token
    assert (await status(services, cid)).status == CampaignStatus.DRAFT
    # the manager deposits half: still a draft, still no tasks
    await rig.chain.vault.fund_with_mint(view.chain_campaign_id, view.budget_wei // 2)
    half = await service.check(cid, actor_id=owner.id)
    assert half.state == FundingState.AWAITING_DEPOSIT and half.escrow_wei == view.budget_wei // 2
    assert await services.tasks.next_task(owner.id) is None
    await rig.chain.vault.fund_with_mint(view.chain_campaign_id, half.shortfall_wei)
    done = await service.check(cid, actor_id=owner.id)
    assert done.state == FundingState.ACTIVE and done.escrow_wei == view.budget_wei
    assert await services.tasks.next_task(owner.id) is not None
    seen = await actions(services, cid)
    assert "campaign.deposit_requested" in seen and "campaign.activated" in seen


async def test_access_and_errors(rig: Rig) -> None:
    services = rig.services
    owner, other = await make_workers(services, 2)
    cid = await draft(services, owner.id)
    service = funding(rig, mint=True)
    with pytest.raises(NotYourCampaign):
        await service.fund(cid, actor_id=other.id)
    assert (await service.fund(cid, actor_id=other.id, admin=True)).state == FundingState.ACTIVE
    with pytest.raises(NotFound):
        await service.check(9999, actor_id=owner.id)
    free = await services.campaigns.create(
        CampaignSpec(name="Free", instructions="", options=("a", "b")),
        [ItemSpec("x", ItemKind.TEXT, "x", None, None)], activate=False)
    with pytest.raises(InvalidInput):
        await service.fund(free, actor_id=owner.id)


async def test_without_a_chain_nothing_starts(services: Services) -> None:
    (owner,) = await make_workers(services, 1)
    cid = await draft(services, owner.id)
    service = FundingService(services.sessionmaker, None, None, curve=QualityCurve(),
                             allow_mint=True)
    with pytest.raises(NoChain):
        await service.fund(cid, actor_id=owner.id)
    assert (await status(services, cid)).status == CampaignStatus.DRAFT
    assert await services.tasks.next_task(owner.id) is None
