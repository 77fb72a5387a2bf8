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
        # Mining resumes (anvil mines the pending transaction) before the restart.
        await w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
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
