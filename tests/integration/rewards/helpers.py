"""Building a labelled campaign with known truth, and reading money back from ledger and chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account import Account
from sqlalchemy import func, select, update

from agreemint.domain import ItemKind
from agreemint.runtime import Services
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec
from agreemint.store.models import Campaign, LedgerEntry, Worker
from tests.integration.rewards.conftest import Rig

OPTIONS = ("cat", "dog", "bird")
RATE_MICRO = 1_000_000  # one token per verified label at 1x


@dataclass
class Crowd:
    campaign_id: int
    worker_ids: list[int]
    addresses: dict[int, str] = field(default_factory=dict)
    round_id: int | None = None


def truth(text: str) -> int:
    """Item "item n" is option n % 3; gold "gold n" likewise (as tests.factories labels it)."""
    return int(text.split()[-1]) % len(OPTIONS)


async def make_crowd(
    services: Services, *, items: int = 4, overlap: int = 3, workers: int = 3, gold: int = 0,
    wrong: dict[int, set[str]] | None = None, rate_micro: int = RATE_MICRO,
) -> Crowd:
    """A campaign answered by `workers`; worker k picks a wrong option on the texts wrong[k]."""
    specs = [ItemSpec(f"i{n}", ItemKind.TEXT, f"item {n}", None, None) for n in range(items)]
    specs += [ItemSpec(f"g{n}", ItemKind.TEXT, f"gold {n}", None, OPTIONS[n % 3])
              for n in range(gold)]
    spec = CampaignSpec("Pets", "Pick the animal.", OPTIONS, overlap, rate_micro)
    campaign_id = await services.campaigns.create(spec, specs)
    crowd = Crowd(campaign_id, [])
    for k in range(workers):
        view = await services.workers.register(7000 + k + 100 * campaign_id, f"W{k}", None, "en")
        crowd.worker_ids.append(view.id)
        bad = (wrong or {}).get(k, set())
        while (task := await services.tasks.next_task(view.id)) is not None:
            text = task.text or ""
            option = (truth(text) + 1) % 3 if text in bad else truth(text)
            await services.tasks.record_answer(view.telegram_id, task.assignment_id, option)
    return crowd


async def link_wallets(services: Services, crowd: Crowd, which: list[int] | None = None) -> None:
    """Give workers fresh addresses (linking by signature is the wallet service's business)."""
    async with services.sessionmaker() as s:
        for k in which if which is not None else range(len(crowd.worker_ids)):
            address = Account.create().address
            crowd.addresses[crowd.worker_ids[k]] = address
            await s.execute(update(Worker).where(Worker.id == crowd.worker_ids[k])
                            .values(wallet_address=address))
        await s.commit()


async def round_and_assess(services: Services, crowd: Crowd) -> None:
    summary = await services.rounds.run(crowd.campaign_id)
    assert summary is not None
    crowd.round_id = summary.round_id
    await services.rewards.assess(summary.round_id)


async def ledger(services: Services, status: str | None = None) -> list[LedgerEntry]:
    async with services.sessionmaker() as s:
        query = select(LedgerEntry).order_by(LedgerEntry.id)
        if status is not None:
            query = query.where(LedgerEntry.status == status)
        return list(await s.scalars(query))


async def paid_by_worker(services: Services) -> dict[int, int]:
    async with services.sessionmaker() as s:
        rows = await s.execute(select(LedgerEntry.worker_id, LedgerEntry.amount_wei)
                               .where(LedgerEntry.status == "paid"))
        out: dict[int, int] = {}
        for worker, amount in rows:
            out[worker] = out.get(worker, 0) + int(amount)
        return out


async def count_entries(services: Services) -> int:
    async with services.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def assert_paid_exactly_once(rig: Rig, crowd: Crowd, *, settled: bool = True) -> None:
    """Chain balances, vault totals and BatchSettled events all agree with the paid ledger."""
    services, chain = rig.services, rig.chain
    paid = await paid_by_worker(services)
    for worker_id, address in crowd.addresses.items():
        assert await chain.token.balance_of(address) == paid.get(worker_id, 0), worker_id
    if settled:  # every linked worker's verified entry went out
        left = await ledger(services, "verified")
        assert all(e.worker_id not in crowd.addresses for e in left)
    async with services.sessionmaker() as s:
        chain_id = await s.scalar(select(Campaign.chain_campaign_id)
                                  .where(Campaign.id == crowd.campaign_id))
    assert chain_id is not None
    info = await chain.vault.campaign(chain_id)
    assert info.paid == sum(paid.values())
    events = await chain.vault.batch_settlements(0, campaign_id=chain_id, with_payouts=False)
    assert len({e.batch_id for e in events}) == len(events)
