"""Property tests on a real node: the curve matches Python, and money is conserved.

Hypothesis drives synchronous tests; each example runs its own event loop and web3 client
against the session's anvil node, and uses a fresh campaign on one deployment per test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agreemint.chain import errors
from agreemint.chain.anvil import ANVIL_DEV_KEY
from agreemint.chain.context import ChainContext
from agreemint.chain.deploy import Deployment, deploy_all
from agreemint.chain.payouts import Payout
from agreemint.multiplier import QualityCurve, multiplier_bps, payout_amount

from .conftest import advance, bind, chain_settings, now

T = TypeVar("T")
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def run_with_chain(
    url: str, deployment: Deployment, body: Callable[[ChainContext], Awaitable[T]]
) -> T:
    async def main() -> T:
        chain = await bind(url, ANVIL_DEV_KEY, deployment)
        try:
            return await body(chain)
        finally:
            await chain.w3.provider.disconnect()

    return asyncio.run(main())


def deploy(url: str) -> Deployment:
    async def main() -> Deployment:
        chain = await bind(url, ANVIL_DEV_KEY, Deployment(31337, *(["0x" + "11" * 20] * 4), 0))
        try:
            return await deploy_all(chain.sender, chain_settings())
        finally:
            await chain.w3.provider.disconnect()

    return asyncio.run(main())


curves = st.builds(QualityCurve, st.integers(0, 10_000), st.integers(10_000, 50_000))


def test_python_multiplier_equals_the_contracts(anvil_url: str) -> None:
    deployment = deploy(anvil_url)

    @PROPERTY_SETTINGS
    @given(st.lists(st.tuples(curves, st.integers(0, 10_000)), min_size=1, max_size=40))
    def check(cases: list[tuple[QualityCurve, int]]) -> None:
        async def body(chain: ChainContext) -> list[int]:
            return [
                await chain.vault.compute_multiplier(c.min_quality, c.max_multiplier, q)
                for c, q in cases
            ]

        on_chain = run_with_chain(anvil_url, deployment, body)
        assert on_chain == [multiplier_bps(c, q) for c, q in cases]

    check()


payouts_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 50), st.integers(0, 10_000)), min_size=1, max_size=6
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("fund"), st.integers(1, 200 * 10**17)),
        st.tuples(st.just("settle"), st.integers(0, 4), payouts_strategy),
        st.tuples(st.just("close")),
    ),
    min_size=1,
    max_size=12,
)


def test_paid_never_exceeds_funded_and_no_batch_applies_twice(anvil_url: str) -> None:
    deployment = deploy(anvil_url)
    pool = [Account.create().address for _ in range(4)]

    @PROPERTY_SETTINGS
    @given(operations, st.integers(10**15, 10**18))
    def check(ops: list[tuple[Any, ...]], rate: int) -> None:
        run_with_chain(anvil_url, deployment, lambda chain: scenario(chain, ops, rate, pool))

    check()


async def scenario(
    chain: ChainContext, ops: list[tuple[Any, ...]], rate: int, pool: list[str]
) -> None:
    vault, token = chain.vault, chain.token
    campaign_id = await vault.create_campaign(token.address, rate, await now(chain) + 1_000)
    curve = await vault.quality_curve()
    funded = paid = 0
    applied: set[bytes] = set()
    closed = False
    for op in ops:
        if op[0] == "fund":
            funded += await _fund(chain, campaign_id, op[1], closed)
        elif op[0] == "settle":
            paid += await _settle(
                chain, campaign_id, op[1], op[2], curve, rate, pool, applied, funded - paid, closed
            )
        elif not closed:
            await advance(chain, 1_000)
            refunded = await vault.close(campaign_id)
            assert refunded == funded - paid
            closed = True
        assert paid <= funded
        info = await vault.campaign(campaign_id)
        assert (info.paid, info.escrow) == (paid, 0 if closed else funded - paid)


async def _fund(chain: ChainContext, campaign_id: int, amount: int, closed: bool) -> int:
    try:
        await chain.vault.fund_with_mint(campaign_id, amount)
    except errors.RewardVaultCampaignClosed:
        assert closed
        return 0
    assert not closed
    return amount


async def _settle(
    chain: ChainContext,
    campaign_id: int,
    slot: int,
    lines: list[tuple[int, int, int]],
    curve: QualityCurve,
    rate: int,
    pool: list[str],
    applied: set[bytes],
    escrow: int,
    closed: bool,
) -> int:
    batch_id = keccak(campaign_id.to_bytes(32, "big") + bytes([slot]))
    payouts = [Payout(pool[w], count, quality) for w, count, quality in lines]
    due = sum(payout_amount(curve, rate, p.count, p.quality_bps) for p in payouts)
    try:
        result = await chain.vault.settle(campaign_id, batch_id, payouts, keccak(b"root"))
    except errors.RewardVaultBatchAlreadySettled as exc:
        assert batch_id in applied and exc.campaign_id == campaign_id
        return 0
    except errors.RewardVaultCampaignClosed:
        assert closed and batch_id not in applied
        return 0
    except errors.RewardVaultInsufficientEscrow as exc:
        assert batch_id not in applied and not closed
        assert (exc.required, exc.available) == (due, escrow) and due > escrow
        assert not await chain.vault.is_settled(batch_id)
        return 0
    assert batch_id not in applied and not closed and due <= escrow
    applied.add(batch_id)
    assert result.amount == due
    assert sum(p.amount for p in result.payouts) == due
    return due
