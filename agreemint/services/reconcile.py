"""Ledger against chain: every paid batch and every worker's amount, compared with the vault.

The ledger side is the paid entries, grouped by their batch key and by the wallet frozen when the
batch was planned. The chain side is the vault's `BatchSettled` events with the token transfers of
the same transactions. Differences are reported, never repaired: `settle_once` repairs what it
can (a batch on-chain but not marked paid is marked on its next run).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from agreemint.chain.context import ChainContext
from agreemint.services.settlement_store import format_tokens, wallet_snapshot
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Campaign, LedgerEntry, SettlementBatch, Worker

MISSING_ONCHAIN = "missing on-chain"
MISSING_IN_LEDGER = "missing in ledger"
AMOUNT_MISMATCH = "amount mismatch"


@dataclass(frozen=True, slots=True)
class Difference:
    """One disagreement; `worker` is empty for a whole-batch difference."""

    kind: str
    batch_key: str
    worker: str
    ledger_wei: int
    chain_wei: int


@dataclass(frozen=True, slots=True)
class BatchView:
    """One batch as one side sees it: chain campaign id, total and per-wallet amounts."""

    campaign: int
    total: int
    workers: dict[str, int]


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    ledger_batches: int
    chain_batches: int
    ledger_paid_wei: int
    chain_paid_wei: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


async def ledger_view(sm: SessionMaker) -> dict[str, BatchView]:
    """Batch key → what the ledger says was paid (paid entries only)."""
    async with sm() as s:
        rows = (await s.execute(
            select(SettlementBatch.id, SettlementBatch.batch_key, Campaign.chain_campaign_id,
                   LedgerEntry.worker_id, Worker.wallet_address, LedgerEntry.amount_wei)
            .join(SettlementBatch, SettlementBatch.id == LedgerEntry.batch_id)
            .join(Campaign, Campaign.id == LedgerEntry.campaign_id)
            .join(Worker, Worker.id == LedgerEntry.worker_id)
            .where(LedgerEntry.status == "paid")
        )).all()
        snapshots = {bid: await wallet_snapshot(s, bid) for bid in {r[0] for r in rows}}
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    campaigns: dict[str, int] = {}
    for batch_id, key, chain_id, worker_id, current, amount in rows:
        address = snapshots[batch_id].get(worker_id, current or f"worker {worker_id}")
        per[key][address] += int(amount)
        campaigns[key] = int(chain_id or 0)
    return {k: BatchView(campaigns[k], sum(w.values()), dict(w)) for k, w in per.items()}


async def chain_view(chain: ChainContext, from_block: int | None = None) -> dict[str, BatchView]:
    """Batch key → what the vault paid, from its events and the token transfers."""
    start = chain.deployment.block_number if from_block is None else from_block
    views: dict[str, BatchView] = {}
    for event in await chain.vault.batch_settlements(start):
        workers: dict[str, int] = defaultdict(int)
        for payout in event.payouts:
            workers[payout.worker] += payout.amount
        views["0x" + event.batch_id.hex()] = BatchView(event.campaign_id, event.amount,
                                                       dict(workers))
    return views


def compare(ledger: dict[str, BatchView], chain: dict[str, BatchView]) -> list[Difference]:
    """Every batch and wallet whose amounts differ between the two sides."""
    out: list[Difference] = []
    for key in sorted(ledger.keys() | chain.keys()):
        mine, theirs = ledger.get(key), chain.get(key)
        if theirs is None:
            assert mine is not None
            out.append(Difference(MISSING_ONCHAIN, key, "", mine.total, 0))
        elif mine is None:
            out.append(Difference(MISSING_IN_LEDGER, key, "", 0, theirs.total))
        else:
            if mine.total != theirs.total:
                out.append(Difference(AMOUNT_MISMATCH, key, "", mine.total, theirs.total))
            for worker in sorted(mine.workers.keys() | theirs.workers.keys()):
                a, b = mine.workers.get(worker, 0), theirs.workers.get(worker, 0)
                if a != b:
                    out.append(Difference(AMOUNT_MISMATCH, key, worker, a, b))
    return out


async def reconcile(
    sm: SessionMaker, chain: ChainContext, from_block: int | None = None
) -> ReconcileReport:
    """Compare the paid ledger with the vault's settlements."""
    ledger = await ledger_view(sm)
    onchain = await chain_view(chain, from_block)
    return ReconcileReport(
        len(ledger), len(onchain),
        sum(v.total for v in ledger.values()), sum(v.total for v in onchain.values()),
        compare(ledger, onchain),
    )


def render(report: ReconcileReport, symbol: str = "LBL") -> str:
    """A table of differences (if any) and a final one-line summary."""
    lines = []
    if report.differences:
        lines.append(f"{'issue':<18} {'batch':<18} {'worker':<42} {'ledger':>14} {'chain':>14}")
        for d in report.differences:
            lines.append(
                f"{d.kind:<18} {d.batch_key[:16] + '…':<18} {d.worker or '(batch)':<42} "
                f"{format_tokens(d.ledger_wei):>14} {format_tokens(d.chain_wei):>14}"
            )
    verdict = "OK" if report.ok else f"{len(report.differences)} difference(s)"
    lines.append(
        f"reconcile: {report.ledger_batches} batches in the ledger, {report.chain_batches} "
        f"on-chain; ledger paid {format_tokens(report.ledger_paid_wei)} {symbol}, on-chain paid "
        f"{format_tokens(report.chain_paid_wei)} {symbol}; {verdict}"
    )
    return "\n".join(lines)
