"""The Python client: input validation, nonces under concurrency, the embedded node."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from agreemint.chain.context import ChainContext, open_chain
from agreemint.chain.errors import InvalidChainInput
from agreemint.chain.payouts import Payout
from agreemint.chain.sender import GasCapExceeded
from agreemint.config import Settings

from .conftest import new_campaign

ROOT = keccak(text="root")


async def test_bad_inputs_are_refused_before_a_transaction(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain)
    w = Account.create().address
    before = await chain.w3.eth.get_transaction_count(chain.sender.address)
    bad_batches = [
        (keccak(b"1"), [Payout(w, 1, 10_001)], ROOT),
        (keccak(b"1"), [Payout(w, 2**32, 9_000)], ROOT),
        (keccak(b"1"), [Payout(w, -1, 9_000)], ROOT),
        (keccak(b"1"), [Payout("0x" + "00" * 20, 1, 9_000)], ROOT),
        (keccak(b"1"), [Payout("not-an-address", 1, 9_000)], ROOT),
        (keccak(b"1"), [], ROOT),
        (bytes(32), [Payout(w, 1, 9_000)], ROOT),
        (b"short", [Payout(w, 1, 9_000)], ROOT),
        (keccak(b"1"), [Payout(w, 1, 9_000)], b"short"),
    ]
    for batch_id, payouts, root in bad_batches:
        with pytest.raises(InvalidChainInput):
            await chain.vault.settle(campaign_id, batch_id, payouts, root)
    chain.vault.max_batch_workers = 2
    with pytest.raises(InvalidChainInput):
        await chain.vault.settle(campaign_id, keccak(b"1"), [Payout(w, 1, 9_000)] * 3, ROOT)
    with pytest.raises(InvalidChainInput):
        await chain.vault.create_campaign(chain.token.address, 2**96, 2**40)
    with pytest.raises(InvalidChainInput):
        await chain.vault.fund(campaign_id, 0)
    with pytest.raises(InvalidChainInput):
        await chain.token.mint("0x1234", 1)
    assert await chain.w3.eth.get_transaction_count(chain.sender.address) == before


async def test_parallel_sends_get_distinct_nonces(chain: ChainContext) -> None:
    holders = [Account.create().address for _ in range(25)]
    results = await asyncio.gather(
        *(chain.token.mint(h, 10**18) for h in holders), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert failures == []
    nonces = {(await chain.w3.eth.get_transaction(r["transactionHash"]))["nonce"] for r in results}  # type: ignore[index]
    assert len(nonces) == len(holders)
    assert [await chain.token.balance_of(h) for h in holders] == [10**18] * len(holders)


async def test_a_failed_broadcast_leaves_no_nonce_gap(
    chain: ChainContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chain.token.mint(Account.create().address, 1)  # counter now loaded
    real = chain.w3.eth.send_raw_transaction
    calls = 0

    async def flaky(raw: bytes) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("node went away mid-send")
        return await real(raw)

    monkeypatch.setattr(chain.w3.eth, "send_raw_transaction", flaky)
    with pytest.raises(ConnectionError):
        await chain.token.mint(Account.create().address, 1)
    receipt = await chain.token.mint(Account.create().address, 1)  # would hang in the pool on a gap
    assert receipt["status"] == 1


async def test_embedded_node_deploys_once_and_keeps_state(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, chain={"poll_interval_seconds": 0.01, "anvil_state_interval_seconds": 1}
    )
    worker = Account.create().address
    async with open_chain(settings) as chain:
        first = chain.deployment
        campaign_id = await new_campaign(chain)
        await chain.vault.settle(campaign_id, keccak(b"e1"), [Payout(worker, 2, 10_000)], ROOT)
        paid = await chain.token.balance_of(worker)
        assert paid == 3 * 10**18
    assert (tmp_path / "anvil-state.json").exists()
    assert (tmp_path / "anvil-deployment.json").exists()

    async with open_chain(settings) as chain:
        assert chain.deployment == first  # not redeployed
        assert await chain.token.balance_of(worker) == paid
        assert await chain.vault.is_settled(keccak(b"e1"))
        found = await chain.vault.batch_settlements(0, campaign_id=campaign_id)
        assert [p.amount for s in found for p in s.payouts] == [paid]


async def test_500_fresh_workers_fit_one_settle_under_the_cap(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain, escrow=10**24)
    payouts = [Payout(Account.create().address, 1, 6_000 + i * 8) for i in range(500)]
    assert len(await chain.vault.plan(keccak(b"big"), payouts)) == 1
    result = await chain.vault.settle(campaign_id, keccak(b"big"), payouts, ROOT)
    receipt = await chain.w3.eth.get_transaction_receipt(result.tx_hash)
    assert result.paid_workers == 500
    assert receipt["gasUsed"] < 16_777_216


async def test_gas_cap_is_enforced_by_the_client(chain: ChainContext) -> None:
    campaign_id = await new_campaign(chain)
    chain.sender.settings = chain.sender.settings.model_copy(update={"tx_gas_cap": 100_000})
    payouts = [Payout(Account.create().address, 1, 9_000) for _ in range(10)]
    with pytest.raises(GasCapExceeded) as caught:
        await chain.vault.settle(campaign_id, keccak(b"capped"), payouts, ROOT)
    assert caught.value.estimate > caught.value.cap == 100_000
    assert not await chain.vault.is_settled(keccak(b"capped"))
