"""`agreemint chain reconcile`: the ledger against the vault's events, differences reported."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import select, update

from agreemint.chain.anvil import ANVIL_DEV_KEY
from agreemint.services.reconcile import (
    AMOUNT_MISMATCH,
    MISSING_IN_LEDGER,
    MISSING_ONCHAIN,
    reconcile,
)
from agreemint.store.models import LedgerEntry, SettlementBatch
from tests.integration.rewards.conftest import Rig
from tests.integration.rewards.helpers import link_wallets, make_crowd, round_and_assess


async def cli_reconcile(rig: Rig, tmp_path: Path) -> tuple[int, str]:
    """The command as an operator runs it: own process, settings from the environment."""
    deployment = tmp_path / "deployment.json"
    rig.chain.deployment.save(deployment)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB__", "CHAIN__"))}
    env.update({"DB__URL": rig.db_url, "CHAIN__RPC_URL": rig.anvil_url,
                "CHAIN__SIGNER_KEY": ANVIL_DEV_KEY, "CHAIN__DEPLOYMENT_FILE": str(deployment),
                "DATA_DIR": str(tmp_path)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agreemint.cli", "chain", "reconcile", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_reconcile_clean_then_reports_each_kind(rig: Rig, tmp_path: Path) -> None:
    services = rig.services
    crowd = await make_crowd(services, items=3, workers=3, wrong={0: {"item 1"}})
    await round_and_assess(services, crowd)
    await link_wallets(services, crowd)
    await rig.settlement.open_campaign_onchain(crowd.campaign_id)
    await rig.settlement.settle_once()

    code, out = await cli_reconcile(rig, tmp_path)
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("reconcile: 1 batches in the ledger, 1 on-chain")
    assert out.strip().endswith("; OK")

    async with services.sessionmaker() as s:
        entry = await s.scalar(select(LedgerEntry).where(LedgerEntry.status == "paid")
                               .order_by(LedgerEntry.id).limit(1))
        assert entry is not None
        await s.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id)
                        .values(amount_wei=entry.amount_wei + 1))
        await s.commit()
    report = await reconcile(services.sessionmaker, rig.chain)
    assert [(d.kind, d.worker) for d in report.differences] == [
        (AMOUNT_MISMATCH, ""), (AMOUNT_MISMATCH, crowd.addresses[entry.worker_id])]
    assert report.differences[1].ledger_wei == report.differences[1].chain_wei + 1

    # The ledger forgets the batch entirely; and it claims one the chain never saw.
    async with services.sessionmaker() as s:
        await s.execute(update(LedgerEntry).values(status="verified", batch_id=None))
        await s.commit()
    report = await reconcile(services.sessionmaker, rig.chain)
    assert [d.kind for d in report.differences] == [MISSING_IN_LEDGER]
    async with services.sessionmaker() as s:
        s.add(SettlementBatch(batch_key="0x" + "ab" * 32, campaign_id=crowd.campaign_id,
                              merkle_root="0x" + "00" * 32, total_wei=5, status="paid"))
        await s.flush()
        bogus = await s.scalar(select(SettlementBatch.id).where(
            SettlementBatch.batch_key == "0x" + "ab" * 32))
        await s.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id)
                        .values(status="paid", batch_id=bogus))
        await s.commit()
    code, out = await cli_reconcile(rig, tmp_path)
    assert code == 1
    assert MISSING_ONCHAIN in out and MISSING_IN_LEDGER in out
    assert out.strip().endswith("2 difference(s)")
