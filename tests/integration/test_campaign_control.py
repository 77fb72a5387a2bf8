"""The manager's campaign card and controls, on SQLite and PostgreSQL (and anvil for refunds)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from agreemint.chain.context import ChainContext
from agreemint.domain import CampaignStatus
from agreemint.errors import NotFound
from agreemint.runtime import Services
from agreemint.services.campaign_control import CampaignControl, ControlRefused, Viewer
from agreemint.store.models import Answer, AuditEntry, Campaign, Item, LedgerEntry
from consensus import AnswerMatrix, krippendorff_alpha
from tests.conftest import Clock
from tests.factories import make_campaign, make_workers
from tests.integration.rewards.conftest import Rig, chain, rig
from tests.integration.test_rounds import answer

__all__ = ["chain", "rig"]  # fixtures imported for pytest

OWNER_TG, OTHER_TG, ADMIN_TG = 900, 901, 902


async def viewers(services: Services) -> tuple[Viewer, Viewer, Viewer]:
    owner, other, admin = [await services.workers.register(tg, "M", None, "en")
                           for tg in (OWNER_TG, OTHER_TG, ADMIN_TG)]
    return (Viewer(OWNER_TG, owner.id), Viewer(OTHER_TG, other.id),
            Viewer(ADMIN_TG, admin.id, admin=True))


async def own(services: Services, campaign_id: int, viewer: Viewer, **values: object) -> None:
    async with services.sessionmaker() as s:
        await s.execute(update(Campaign).where(Campaign.id == campaign_id)
                        .values(owner_id=viewer.worker_id, **values))
        await s.commit()


def control(services: Services, clock: Clock | None = None) -> CampaignControl:
    return CampaignControl(services.sessionmaker, None, clock=clock or Clock())


async def audited(services: Services, prefix: str = "campaign.") -> list[AuditEntry]:
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(AuditEntry).where(
            AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)))


async def test_managers_see_their_own_and_admins_all(services: Services) -> None:
    owner, other, admin = await viewers(services)
    mine = await make_campaign(services, items=3, name="Mine")
    theirs = await make_campaign(services, items=2, gold=1, name="Theirs")
    await own(services, mine, owner)
    await own(services, theirs, other)
    cc = control(services)
    [line] = await cc.list_for(owner)
    assert (line.id, line.name, line.status, line.items_done, line.items_total) == (
        mine, "Mine", "active", 0, 3)
    assert [c.id for c in await cc.list_for(admin)] == [theirs, mine]
    assert (await cc.list_for(other))[0].items_total == 2  # gold items are not work to do
    with pytest.raises(NotFound, match="not one of yours"):
        await cc.card(owner, theirs)
    with pytest.raises(NotFound):
        await cc.pause(owner, theirs)
    assert (await cc.card(admin, theirs)).name == "Theirs"


async def test_card_figures_after_a_round(services: Services, clock: Clock) -> None:
    services.tasks._settings.gold_rate = 0.0
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=3, overlap=3)
    await own(services, cid, owner, reward_rate_micro=1_000_000, budget_wei=10**19)
    workers = await make_workers(services, 3)
    truth = {"item 0": 0, "item 1": 1, "item 2": 2}
    for n, w in enumerate(workers):
        clock.advance(600)
        picks = truth if n < 2 else {"item 0": 1, "item 1": 1, "item 2": 2}
        await answer(services, w.telegram_id, w.id, picks)
    [summary] = await services.rounds.run_all()
    await services.rewards.assess(summary.round_id)
    async with services.sessionmaker() as s:
        entries = list(await s.scalars(select(LedgerEntry).where(
            LedgerEntry.status == "verified").order_by(LedgerEntry.id)))
        entries[0].status = "paid"
        paid, verified_total = entries[0].amount_wei, sum(e.amount_wei for e in entries)
        rows = (await s.execute(select(Answer.item_id, Answer.worker_id, Answer.label))).all()
        confidences = list(await s.scalars(select(Item.confidence)))
        await s.commit()
    card = await control(services, clock).card(owner, cid)
    assert (card.items_done, card.items_total, card.answers, card.workers) == (3, 3, 9, 3)
    expected = krippendorff_alpha(AnswerMatrix.from_triples(*zip(*rows, strict=True)))
    assert card.agreement == pytest.approx(expected)
    assert card.agreement is not None and 0 < card.agreement < 1
    assert card.mean_confidence == pytest.approx(sum(confidences) / 3)  # type: ignore[arg-type]
    assert (card.paid_wei, card.spent_wei, card.budget_wei) == (paid, verified_total, 10**19)
    assert paid > 0 and card.eta is None  # nothing left to answer
    data = await control(services, clock).chart_data(owner, cid)
    assert len(data.answer_times) == 9 and len(data.labeled_times) == 3
    assert data.items_total == 3 and len(data.qualities) == 3 and data.min_quality == 0.6


async def test_empty_campaign_card(services: Services) -> None:
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=2)
    await own(services, cid, owner)
    card = await control(services).card(owner, cid)
    assert (card.answers, card.agreement, card.mean_confidence, card.eta) == (0, None, None, None)
    data = await control(services).chart_data(owner, cid)
    assert data.answer_times == [] and data.qualities == []


async def test_eta_follows_the_recent_answer_rate(services: Services, clock: Clock) -> None:
    services.tasks._settings.gold_rate = 0.0
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=4, overlap=2)
    await own(services, cid, owner)
    [w] = await make_workers(services, 1)
    for _ in range(4):  # one answer every 30 minutes: 2 answers an hour
        clock.advance(1800)
        task = await services.tasks.next_task(w.id)
        assert task is not None
        await services.tasks.record_answer(w.telegram_id, task.assignment_id, 0)
    card = await control(services, clock).card(owner, cid)
    assert card.answers_per_hour == pytest.approx(2.0)
    assert card.eta == clock.now + timedelta(hours=2)  # 4 more answers reach overlap 2


async def test_pause_resume_extend_close_with_audit(services: Services, clock: Clock) -> None:
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services)
    await own(services, cid, owner)
    cc = control(services, clock)
    with pytest.raises(ControlRefused, match="Only a paused campaign can be resumed"):
        await cc.resume(owner, cid)
    await cc.pause(owner, cid)
    assert cid not in await services.campaigns.active_ids()
    with pytest.raises(ControlRefused, match="Only a running campaign can be paused"):
        await cc.pause(owner, cid)
    await own(services, cid, owner, deadline=clock.now - timedelta(hours=1))
    with pytest.raises(ControlRefused, match="extend it before resuming"):
        await cc.resume(owner, cid)
    with pytest.raises(ControlRefused, match="later than now"):
        await cc.extend(owner, cid, clock.now - timedelta(minutes=1))
    with pytest.raises(ControlRefused, match="at most a year"):
        await cc.extend(owner, cid, clock.now + timedelta(days=400))
    await cc.extend(owner, cid, clock.now + timedelta(days=7))
    await cc.resume(owner, cid)
    assert cid in await services.campaigns.active_ids()
    result = await cc.close(owner, cid)
    assert result.refunded_wei is None  # never on-chain: nothing to refund
    for action in (cc.pause, cc.resume, cc.close):
        with pytest.raises(ControlRefused):
            await action(owner, cid)
    with pytest.raises(ControlRefused, match="closed campaign cannot be extended"):
        await cc.extend(owner, cid, clock.now + timedelta(days=8))
    log = await audited(services)
    assert [e.action for e in log][1:] == [
        "campaign.paused", "campaign.extended", "campaign.resumed", "campaign.closed"]
    assert all(e.actor == str(OWNER_TG) for e in log[1:])
    assert log[1].data["previous"] == "active" and log[4].data["previous"] == "active"
    assert log[2].data["previous"] is not None


async def test_close_refused_while_rewards_are_owed(services: Services) -> None:
    services.tasks._settings.gold_rate = 0.0
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=1, overlap=1)
    await own(services, cid, owner, reward_rate_micro=1_000_000)
    [w] = await make_workers(services, 1)
    await answer(services, w.telegram_id, w.id, {})
    [summary] = await services.rounds.run_all()
    await services.rewards.assess(summary.round_id)
    cc = control(services)
    with pytest.raises(ControlRefused, match="1 rewards are still being assessed or paid"):
        await cc.close(owner, cid)
    async with services.sessionmaker() as s:
        assert (await s.get_one(Campaign, cid)).status == CampaignStatus.ACTIVE


async def test_on_chain_campaign_needs_the_chain_to_close(services: Services) -> None:
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services)
    await own(services, cid, owner, chain_campaign_id=7)
    with pytest.raises(ControlRefused, match="payment network is not connected"):
        await control(services).close(owner, cid)


async def test_close_refunds_the_escrow_after_the_vault_end(rig: Rig) -> None:
    services, ch = rig.services, rig.chain
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=2)
    await own(services, cid, owner, reward_rate_micro=1_000_000)
    now = int((await ch.w3.eth.get_block("latest"))["timestamp"])
    assert services.settlement is not None
    chain_id = await services.settlement.open_campaign_onchain(
        cid, fund_wei=5 * 10**18, ends_at=now + 120)
    cc = CampaignControl(services.sessionmaker, ch)
    with pytest.raises(ControlRefused, match="locked on-chain until"):
        await cc.close(owner, cid)
    await cc.pause(owner, cid)  # what the refusal suggests
    await _warp(ch, 121)
    before = await ch.token.balance_of(ch.sender.address)
    result = await cc.close(owner, cid)
    assert result.refunded_wei == 5 * 10**18
    assert await ch.token.balance_of(ch.sender.address) == before + 5 * 10**18
    info = await ch.vault.campaign(chain_id)
    assert info.closed and info.escrow == 0
    log = await audited(services, "campaign.closed")
    assert log[0].data["refunded_wei"] == str(5 * 10**18)
    with pytest.raises(ControlRefused, match="already closed"):
        await cc.close(owner, cid)


async def test_close_repairs_a_row_the_vault_already_closed(rig: Rig) -> None:
    services, ch = rig.services, rig.chain
    owner, _, _ = await viewers(services)
    cid = await make_campaign(services, items=1)
    await own(services, cid, owner, reward_rate_micro=1_000_000)
    now = int((await ch.w3.eth.get_block("latest"))["timestamp"])
    assert services.settlement is not None
    chain_id = await services.settlement.open_campaign_onchain(cid, fund_wei=10**18,
                                                               ends_at=now + 30)
    await _warp(ch, 31)
    await ch.vault.close(chain_id)  # as if the process died before the row changed
    result = await CampaignControl(services.sessionmaker, ch).close(owner, cid)
    assert result.refunded_wei == 0
    async with services.sessionmaker() as s:
        assert (await s.get_one(Campaign, cid)).status == CampaignStatus.CLOSED


async def _warp(ch: ChainContext, seconds: int) -> None:
    # The session's anvil clock only moves forward; other tests open campaigns a year ahead.
    await ch.w3.provider.make_request("evm_increaseTime", [seconds])
    await ch.w3.provider.make_request("evm_mine", [])
