"""A campaign funded for its budget never owes more than its escrow, however much gold its
workers meet (services/gold_budget.py): on a real anvil node and both database backends, a crowd
labels a gold-heavy campaign to the end with rounds and payouts in between, and every verified
reward is paid from the escrow the manager funded, with no batch refused for want of funds."""

from __future__ import annotations

from sqlalchemy import func, select

from agreemint.domain import CampaignStatus, ItemKind
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.funding import FundingService
from agreemint.services.itemfile import ItemSpec
from agreemint.store.models import Answer, Campaign, Item, Notification, SettlementBatch
from tests.integration.rewards.conftest import Rig
from tests.integration.rewards.helpers import (
    OPTIONS,
    RATE_MICRO,
    Crowd,
    assert_paid_exactly_once,
    ledger,
    link_wallets,
    truth,
)

WORKERS = 10
ITEMS, GOLD, OVERLAP = 20, 10, 2


async def funded_campaign(rig: Rig) -> int:
    """A third of its items gold, funded by minting its budget (the local chain's way)."""
    specs = [ItemSpec(f"i{n}", ItemKind.TEXT, f"item {n}", None, None) for n in range(ITEMS)]
    specs += [ItemSpec(f"g{n}", ItemKind.TEXT, f"gold {n}", None, OPTIONS[n % 3])
              for n in range(GOLD)]
    spec = CampaignSpec("Pets", "Pick the animal.", OPTIONS, overlap=OVERLAP,
                        reward_rate_micro=RATE_MICRO)
    cid = await rig.services.campaigns.create(spec, specs, activate=False)
    funding = FundingService(rig.services.sessionmaker, rig.settlement, rig.chain,
                             curve=rig.services.rewards._curve, allow_mint=True)
    view = await funding.fund(cid, actor_id=0, admin=True)
    # items × answers × 1 token × the top multiplier (1.5)
    assert view.escrow_wei == view.budget_wei == (ITEMS + GOLD) * OVERLAP * 15 * 10**17
    return cid


async def test_gold_heavy_campaign_is_paid_within_its_funded_escrow(rig: Rig) -> None:
    services = rig.services
    services.tasks._settings.gold_rate = 0.75  # three tasks in four gold, while it is paid for
    cid = await funded_campaign(rig)
    crowd = Crowd(cid, [])
    for k in range(WORKERS):
        view = await services.workers.register(8000 + k, f"W{k}", None, "en")
        crowd.worker_ids.append(view.id)
    await link_wallets(services, crowd)
    served = True
    while served:  # each worker does a few tasks a visit, until a visit gets nothing
        served = False
        for k, worker_id in enumerate(crowd.worker_ids):
            for _ in range(4):
                if (task := await services.tasks.next_task(worker_id)) is None:
                    break
                served = True
                await services.tasks.record_answer(8000 + k, task.assignment_id,
                                                   truth(task.text or ""))
        # The scheduler's rounds and payouts run while the crowd works.
        if (summary := await services.rounds.run(cid)) is not None:
            await services.rewards.assess(summary.round_id)
        await rig.settlement.settle_once()
    async with services.sessionmaker() as s:
        campaign = await s.get_one(Campaign, cid)
        gold_answers = await s.scalar(
            select(func.count()).select_from(Answer).join(Item, Item.id == Answer.item_id)
            .where(Item.campaign_id == cid, Item.is_gold.is_(True)))
        failed = await s.scalar(select(func.count()).select_from(SettlementBatch)
                                .where(SettlementBatch.status == "failed"))
        notes = list(await s.scalars(select(Notification.text)))
    assert campaign.status == CampaignStatus.ACTIVE
    # Gold went past the gold items' own answers, paid by the multiplier headroom.
    assert gold_answers is not None and gold_answers > GOLD * OVERLAP
    # Every reward the crowd earned was paid from what the manager funded: no refusal, no
    # "escrow short" message to the manager, nothing verified left over.
    assert failed == 0 and not [n for n in notes if "escrow" in n.lower()]
    assert await ledger(services, "verified") == []
    await assert_paid_exactly_once(rig, crowd)
    assert campaign.chain_campaign_id is not None
    info = await rig.chain.vault.campaign(campaign.chain_campaign_id)
    assert info.paid <= campaign.budget_wei and info.paid + info.escrow == campaign.budget_wei
