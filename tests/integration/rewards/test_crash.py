"""Fault injection: SIGKILL a real settling process at each step, restart, pay exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agreemint.services.settlement import SettlementService
from agreemint.store.models import Notification, SettlementBatch
from tests.integration.rewards.conftest import Rig
from tests.integration.rewards.helpers import (
    assert_paid_exactly_once,
    ledger,
    link_wallets,
    make_crowd,
    round_and_assess,
)

SCRIPT = Path(__file__).with_name("settle_proc.py")


async def run_and_kill(rig: Rig, point: str) -> None:
    deployment = json.dumps(dataclasses.asdict(rig.chain.deployment))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), rig.db_url, rig.anvil_url, deployment, point,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == -signal.SIGKILL, (out + err).decode()[-2000:]


@pytest.mark.parametrize("point", ["before_send", "mid_send", "after_receipt"])
async def test_killed_settlement_resumes_and_pays_once(rig: Rig, point: str) -> None:
    services = rig.services
    crowd = await make_crowd(services, items=3, workers=3, wrong={1: {"item 2"}})
    await round_and_assess(services, crowd)
    await link_wallets(services, crowd)
    chain_id = await rig.settlement.open_campaign_onchain(crowd.campaign_id)
    w3 = rig.chain.w3
    if point == "mid_send":  # the transaction is still in the mempool when the process dies
        await w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        await run_and_kill(rig, point)
        onchain = await rig.chain.vault.batch_settlements(0, campaign_id=chain_id,
                                                          with_payouts=False)
        assert len(onchain) == (1 if point == "after_receipt" else 0)
    finally:
        # Mining resumes before the restart; anvil mines the pending transaction only with the
        # next block, so mine one now (a loaded machine otherwise restarts before it lands).
        await w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        await w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    async with services.sessionmaker() as s:
        [batch] = list(await s.scalars(select(SettlementBatch)))
    assert batch.status == "sent" and len(await ledger(services, "paid")) == 0

    summary = await rig.settlement.settle_once()  # the restart
    assert (summary.planned, summary.paid, summary.failed) == (0, 1, 0)
    await assert_paid_exactly_once(rig, crowd)
    onchain = await rig.chain.vault.batch_settlements(0, campaign_id=chain_id, with_payouts=False)
    assert len(onchain) == 1
    paid = await ledger(services, "paid")
    assert len(paid) == 8 and {e.tx_hash for e in paid} == {onchain[0].tx_hash}
    async with services.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Notification)) == 3
    assert (await rig.settlement.settle_once()).paid == 0  # and again: nothing more


async def test_restart_while_the_first_transaction_is_still_pending(rig: Rig) -> None:
    """Killed mid-send and restarted before the first transaction is mined: the resend is
    refused or reverts, the batch waits, and the next run marks it paid from the first one."""
    services = rig.services
    crowd = await make_crowd(services, items=2, overlap=2, workers=2)
    await round_and_assess(services, crowd)
    await link_wallets(services, crowd)
    await rig.settlement.open_campaign_onchain(crowd.campaign_id)
    w3 = rig.chain.w3
    await w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        await run_and_kill(rig, "mid_send")

        async def mine_soon() -> None:
            await asyncio.sleep(0.5)
            await w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]

        now = [0.0]
        restarted = SettlementService(services.sessionmaker, rig.chain, rig.settings.rewards,
                                      monotonic=lambda: now[0])
        first, _ = await asyncio.gather(restarted.settle_once(), mine_soon())
    finally:
        await w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    assert (first.paid, first.failed) == (0, 0) or first.paid == 1
    now[0] += 10 * rig.settings.rewards.settle_retry_max_seconds
    await restarted.settle_once()
    await assert_paid_exactly_once(rig, crowd)
    async with services.sessionmaker() as s:
        [batch] = list(await s.scalars(select(SettlementBatch)))
    assert batch.status == "paid" and batch.tx_hash
    paid = await ledger(services, "paid")
    assert len(paid) == 4 and {e.tx_hash for e in paid} == {batch.tx_hash}
