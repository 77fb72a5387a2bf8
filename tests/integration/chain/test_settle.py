"""RewardVault.settle against a real node: amounts, events, idempotency, the escrow bound."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

from agreemint.chain import errors
from agreemint.chain.context import ChainContext
from agreemint.chain.payouts import Payout, chunk_batch_id
from agreemint.multiplier import QualityCurve, payout_amount

from .conftest import new_campaign

ROOT = keccak(text="round-1 verified labels")


def batch(n: int) -> bytes:
    return keccak(n.to_bytes(32, "big"))


def workers(n: int) -> list[str]:
    return [Account.create().address for _ in range(n)]


async def test_settle_pays_count_rate_multiplier_and_emits_events(chain: ChainContext) -> None:
    rate = 2 * 10**17
    campaign_id = await new_campaign(chain, escrow=10**21, rate=rate)
    ws = workers(4)
    payouts = [
        Payout(ws[0], 10, 10_000),
        Payout(ws[1], 3, 6_000),
        Payout(ws[2], 7, 8_123),
        Payout(ws[3], 5, 5_999),
    ]

    result = await chain.vault.settle(campaign_id, batch(1), payouts, ROOT)

    curve = QualityCurve(6_000, 15_000)
    expected = {p.worker: payout_amount(curve, rate, p.count, p.quality_bps) for p in payouts}
    assert expected[ws[0]] == 15 * 10**17 * 2  # 10 labels x 0.2 x 1.5
    assert expected[ws[3]] == 0  # below the minimum quality
    paid = {p.worker: p.amount for p in result.payouts}
    assert paid == {w: a for w, a in expected.items() if a}
    for w, amount in expected.items():
        assert await chain.token.balance_of(w) == amount
    total = sum(expected.values())
    assert (result.campaign_id, result.batch_id, result.merkle_root) == (
        campaign_id,
        batch(1),
        ROOT,
    )
    assert (result.workers, result.paid_workers, result.amount) == (4, 3, total)

    receipt = await chain.w3.eth.get_transaction_receipt(result.tx_hash)
    (event,) = chain.vault.contract.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
    assert dict(event["args"]) == {
        "campaignId": campaign_id,
        "batchId": batch(1),
        "merkleRoot": ROOT,
        "workers": 4,
        "paidWorkers": 3,
        "amount": total,
    }
    transfers = chain.token.contract.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert [(t["args"]["from"], t["args"]["to"], t["args"]["value"]) for t in transfers] == [
        (chain.vault.address, w, a) for w, a in expected.items() if a
    ]
    info = await chain.vault.campaign(campaign_id)
    assert (info.escrow, info.paid) == (10**21 - total, total)


async def test_a_batch_id_is_applied_once(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain)
    ws = workers(2)
    assert not await chain.vault.is_settled(batch(7))
    await chain.vault.settle(campaign_id, batch(7), [Payout(ws[0], 1, 9_000)], ROOT)
    assert await chain.vault.is_settled(batch(7))
    assert await chain.vault.batch_campaign(batch(7)) == campaign_id

    with pytest.raises(errors.RewardVaultBatchAlreadySettled) as caught:
        await chain.vault.settle(campaign_id, batch(7), [Payout(ws[1], 1, 9_000)], ROOT)
    assert (caught.value.batch_id, caught.value.campaign_id) == (batch(7), campaign_id)
    assert await chain.token.balance_of(ws[1]) == 0

    # Also against another campaign: batch ids are global.
    other = await new_campaign(chain)
    with pytest.raises(errors.RewardVaultBatchAlreadySettled) as caught:
        await chain.vault.settle(other, batch(7), [Payout(ws[1], 1, 9_000)], ROOT)
    assert caught.value.campaign_id == campaign_id


async def test_a_batch_above_the_escrow_reverts_whole(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain, escrow=5 * 10**18, rate=10**18)
    ws = workers(3)
    payouts = [Payout(w, 2, 6_000) for w in ws]  # 6 tokens at 1x, escrow holds 5
    with pytest.raises(errors.RewardVaultInsufficientEscrow) as caught:
        await chain.vault.settle(campaign_id, batch(1), payouts, ROOT)
    assert caught.value.values == {
        "campaignId": campaign_id,
        "required": 6 * 10**18,
        "available": 5 * 10**18,
    }
    assert [await chain.token.balance_of(w) for w in ws] == [0, 0, 0]
    assert not await chain.vault.is_settled(batch(1))
    # Exactly the escrow is fine, and leaves nothing.
    await chain.vault.settle(campaign_id, batch(1), [*payouts[:2], Payout(ws[2], 1, 6_000)], ROOT)
    assert (await chain.vault.campaign(campaign_id)).escrow == 0


async def test_escrow_of_one_campaign_never_pays_another(chain: ChainContext) -> None:
    rich = await new_campaign(chain, escrow=10**22)
    poor = await new_campaign(chain, escrow=10**18)
    with pytest.raises(errors.RewardVaultInsufficientEscrow) as caught:
        await chain.vault.settle(poor, batch(1), [Payout(workers(1)[0], 2, 6_000)], ROOT)
    assert caught.value.campaign_id == poor
    assert (await chain.vault.campaign(rich)).escrow == 10**22


async def test_mined_revert_is_decoded_from_a_replay(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain)
    w = workers(1)
    await chain.vault.settle(campaign_id, batch(3), [Payout(w[0], 1, 9_000)], ROOT)
    data = chain.vault.encode("settle", campaign_id, batch(3), w, [1], [9_000], ROOT)
    # Explicit gas skips the estimate, so the transaction is mined and fails on-chain.
    with pytest.raises(errors.RewardVaultBatchAlreadySettled) as caught:
        await chain.sender.send(chain.vault.address, data, gas=300_000)
    assert caught.value.tx_hash is not None
    receipt = await chain.w3.eth.get_transaction_receipt(caught.value.tx_hash)
    assert receipt["status"] == 0


async def test_settle_all_splits_and_resumes(chain: ChainContext) -> None:
    chain.vault.max_batch_workers = 3
    campaign_id = await new_campaign(chain)
    payouts = [Payout(w, 1, 7_000) for w in workers(8)]
    start = await chain.w3.eth.block_number

    first = await chain.vault.settle_all(campaign_id, batch(9), payouts[:8], ROOT)
    assert [r.workers if r else None for r in first] == [3, 3, 2]
    assert [r.batch_id if r else None for r in first] == [
        chunk_batch_id(batch(9), i) for i in range(3)
    ]
    assert all([await chain.vault.is_settled(chunk_batch_id(batch(9), i)) for i in range(3)])

    # A resend after a crash pays nothing twice.
    again = await chain.vault.settle_all(campaign_id, batch(9), payouts, ROOT)
    assert again == [None, None, None]
    for p in payouts:
        assert await chain.token.balance_of(p.worker) == payout_amount(
            QualityCurve(), 10**18, 1, 7_000
        )

    found = await chain.vault.batch_settlements(start + 1, campaign_id=campaign_id)
    assert [s.batch_id for s in found] == [r.batch_id for r in first if r]
    assert [len(s.payouts) for s in found] == [3, 3, 2]
    assert {p.worker for s in found for p in s.payouts} == {p.worker for p in payouts}
    assert await chain.vault.batch_payouts(found[0].tx_hash) == found[0].payouts
    assert await chain.vault.batch_settlements(start + 1, campaign_id=campaign_id + 1) == []


async def test_contract_rejects_malformed_batches(chain: ChainContext) -> None:
    """The contract's own checks, reached by bypassing the client's validation."""
    campaign_id = await new_campaign(chain)
    ws = workers(2)

    async def raw_settle(*args: object) -> None:
        await chain.sender.send(chain.vault.address, chain.vault.encode("settle", *args))

    with pytest.raises(errors.RewardVaultInvalidBatchShape) as shape:
        await raw_settle(campaign_id, batch(1), ws, [1], [9_000, 9_000], ROOT)
    assert shape.value.values == {"workers": 2, "counts": 1, "qualities": 2}
    with pytest.raises(errors.RewardVaultInvalidBatchShape) as empty:
        await raw_settle(campaign_id, batch(1), [], [], [], ROOT)
    assert empty.value.values == {"workers": 0, "counts": 0, "qualities": 0}
    with pytest.raises(errors.RewardVaultInvalidBatchId) as zero:
        await raw_settle(campaign_id, bytes(32), ws, [1, 1], [9_000, 9_000], ROOT)
    assert zero.value.batch_id == bytes(32)
    with pytest.raises(errors.RewardVaultQualityOutOfRange) as quality:
        await raw_settle(campaign_id, batch(1), ws, [1, 1], [9_000, 10_001], ROOT)
    assert (quality.value.index, quality.value.quality) == (1, 10_001)
    with pytest.raises(errors.RewardVaultUnknownCampaign) as unknown:
        await raw_settle(campaign_id + 100, batch(1), ws, [1, 1], [9_000, 9_000], ROOT)
    assert unknown.value.campaign_id == campaign_id + 100
    with pytest.raises(errors.ERC20InvalidReceiver) as receiver:
        await raw_settle(campaign_id, batch(1), ["0x" + "00" * 20], [1], [9_000], ROOT)
    assert receiver.value.receiver == "0x" + "00" * 20
