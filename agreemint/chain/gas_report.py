"""`agreemint chain gas-report`: what a paid worker costs in `settle`, against the gas floor.

Everything is measured in one run on a fresh anvil node with the committed artifacts:
- the floor: a bare `batchMint` loop (GasFloorToken) to N fresh and then N existing holders;
- `RewardVault.settle` for batches of 1/10/100/500 fresh and then the same (returning) workers;
- one plain ERC-20 transfer, fresh and existing recipient;
- the pull alternative: a Merkle claim (100 leaves, proof length 7), paid by each worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from agreemint.chain.anvil import ANVIL_DEV_KEY, AnvilNode
from agreemint.chain.artifacts import load_artifact
from agreemint.chain.base import ContractClient
from agreemint.chain.context import ChainContext, make_sender, make_web3
from agreemint.chain.deploy import deploy_all, deploy_contract
from agreemint.chain.merkle import leaf_hash, merkle_proof, merkle_root
from agreemint.chain.payouts import Payout
from agreemint.chain.settings import ChainSettings

BATCH_SIZES = (1, 10, 100, 500)
FLOOR_SIZES = (1, 10, 100, 500)
TX_GAS_CAP = 16_777_216
TARGET_RATIO = 1.25
AMOUNT = 5 * 10**18


@dataclass
class Row:
    what: str
    holders: str
    n: int
    gas: int

    @property
    def per_worker(self) -> float:
        return self.gas / self.n


def _addresses(n: int) -> list[str]:
    return [Account.create().address for _ in range(n)]


class _Bench:
    def __init__(self, chain: ChainContext) -> None:
        self.chain = chain
        self.sender = chain.sender
        self.rows: list[Row] = []
        self._batch = 0

    async def gas_of(self, client: ContractClient, fn: str, *args: Any) -> int:
        # Gas limit = the cap: estimates for the biggest batches would pass through anyway, and
        # this keeps the measurement to one round trip per transaction.
        receipt = await self.sender.send(client.address, client.encode(fn, *args), gas=TX_GAS_CAP)
        return int(receipt["gasUsed"])

    async def floor(self, floor: ContractClient) -> None:
        for n in FLOOR_SIZES:
            holders = _addresses(n)
            for label in ("fresh", "existing"):
                gas = await self.gas_of(floor, "batchMint", holders, [AMOUNT] * n)
                self.rows.append(Row("floor: bare batchMint", label, n, gas))

    async def settle(self, campaign_id: int) -> None:
        curve = await self.chain.vault.quality_curve()
        for n in BATCH_SIZES:
            workers = _addresses(n)
            for label in ("fresh", "existing"):
                gas = await self._settle_gas(campaign_id, workers, curve.min_quality)
                self.rows.append(Row("RewardVault.settle", label, n, gas))

    async def _settle_gas(self, campaign_id: int, workers: list[str], min_quality: int) -> int:
        self._batch += 1
        # Qualities spread over the paid range, so the multiplier math runs its general branch.
        payouts = [
            Payout(w, 5, min_quality + (i * 37) % (10_001 - min_quality))
            for i, w in enumerate(workers)
        ]
        return await self.gas_of(
            self.chain.vault,
            "settle",
            campaign_id,
            self._batch.to_bytes(32, "big"),
            [p.worker for p in payouts],
            [p.count for p in payouts],
            [p.quality_bps for p in payouts],
            b"\x11" * 32,
        )

    async def transfer(self) -> None:
        (to,) = _addresses(1)
        await self.chain.token.mint(self.sender.address, 4 * AMOUNT)
        for label in ("fresh", "existing"):
            gas = await self.gas_of(self.chain.token, "transfer", to, AMOUNT)
            self.rows.append(Row("LabelToken.transfer (single)", label, 1, gas))

    async def merkle(self) -> None:
        accounts = _addresses(100)
        leaves = [
            leaf_hash(["uint256", "address", "uint256"], [i, a, AMOUNT])
            for i, a in enumerate(accounts)
        ]
        root = merkle_root(leaves)
        artifact = load_artifact("MerkleClaimReference")
        address = await deploy_contract(self.sender, artifact, self.chain.token.address, root)
        ref = ContractClient(self.sender.w3, address, artifact, self.sender.decoder, self.sender)
        await self.chain.token.mint(address, AMOUNT * len(accounts))
        for i, label in ((0, "fresh, first in bitmap word"), (1, "fresh, same bitmap word")):
            gas = await self.gas_of(ref, "claim", i, accounts[i], AMOUNT, merkle_proof(leaves, i))
            self.rows.append(Row("Merkle claim (100 leaves, paid by worker)", label, 1, gas))

    def marginal(self, what: str, holders: str) -> float:
        by_n = {r.n: r.gas for r in self.rows if r.what == what and r.holders == holders}
        return (by_n[500] - by_n[100]) / 400

    def gas_at(self, what: str, holders: str, n: int) -> int:
        return next(
            r.gas for r in self.rows if r.what == what and r.holders == holders and r.n == n
        )


async def _max_batch(bench: _Bench, campaign_id: int) -> tuple[int, int]:
    """Largest fresh batch under the cap, predicted from 100/500 and confirmed by sending it."""
    marginal = bench.marginal("RewardVault.settle", "fresh")
    base = bench.gas_at("RewardVault.settle", "fresh", 500) - 500 * marginal
    n = int((TX_GAS_CAP - base) // marginal)
    curve = await bench.chain.vault.quality_curve()
    while True:
        gas = await bench._settle_gas(campaign_id, _addresses(n), curve.min_quality)
        if gas <= TX_GAS_CAP:
            return n, gas
        n -= 5


async def measure() -> dict[str, Any]:
    """Run every measurement on a fresh node; returns rows and the summary figures."""
    settings = ChainSettings(timelock_delay_seconds=0, poll_interval_seconds=0.01)
    with AnvilNode() as node:
        w3 = make_web3(node.url, settings)
        try:
            sender = make_sender(w3, ANVIL_DEV_KEY, settings)
            chain = ChainContext.bind(sender, await deploy_all(sender, settings), settings)
            bench = _Bench(chain)
            floor_artifact = load_artifact("GasFloorToken")
            floor_address = await deploy_contract(sender, floor_artifact)
            await bench.floor(
                ContractClient(w3, floor_address, floor_artifact, sender.decoder, sender)
            )
            now = int((await w3.eth.get_block("latest"))["timestamp"])
            campaign_id = await chain.vault.create_campaign(
                chain.token.address, 10**18, now + 86_400
            )
            await chain.vault.fund_with_mint(campaign_id, 10**30)
            await bench.settle(campaign_id)
            await bench.transfer()
            await bench.merkle()
            max_batch, max_batch_gas = await _max_batch(bench, campaign_id)
        finally:
            await w3.provider.disconnect()
    return _summary(bench, max_batch, max_batch_gas)


def _summary(bench: _Bench, max_batch: int, max_batch_gas: int) -> dict[str, Any]:
    settle, floor = "RewardVault.settle", "floor: bare batchMint"
    figures: dict[str, Any] = {
        "settle_per_worker_fresh": round(bench.gas_at(settle, "fresh", 500) / 500),
        "settle_per_worker_existing": round(bench.gas_at(settle, "existing", 500) / 500),
        "floor_fresh": round(bench.gas_at(floor, "fresh", 500) / 500),
        "floor_existing": round(bench.gas_at(floor, "existing", 500) / 500),
        "settle_marginal_fresh": round(bench.marginal(settle, "fresh")),
        "settle_marginal_existing": round(bench.marginal(settle, "existing")),
        "floor_marginal_fresh": round(bench.marginal(floor, "fresh")),
        "floor_marginal_existing": round(bench.marginal(floor, "existing")),
        "max_batch": max_batch,
        "max_batch_gas": max_batch_gas,
        "tx_gas_cap": TX_GAS_CAP,
    }
    figures["ratio_fresh"] = round(figures["settle_per_worker_fresh"] / figures["floor_fresh"], 3)
    figures["ratio_existing"] = round(
        figures["settle_per_worker_existing"] / figures["floor_existing"], 3
    )
    figures["target_ratio"] = TARGET_RATIO
    figures["meets_target"] = (
        figures["ratio_fresh"] <= TARGET_RATIO
        and figures["ratio_existing"] <= TARGET_RATIO
        and max_batch >= 500
    )
    return {"rows": bench.rows, "figures": figures}


def render(result: dict[str, Any]) -> str:
    """The table, then one JSON line of the figures (the last line, for scripts)."""
    rows: list[Row] = result["rows"]
    lines = [f"{'operation':<44} {'holders':<30} {'N':>4} {'gas':>12} {'gas/worker':>11}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r.what:<44} {r.holders:<30} {r.n:>4} {r.gas:>12,} {r.per_worker:>11,.0f}")
    f = result["figures"]
    lines.append("")
    lines.append(
        f"per paid worker at N=500: fresh {f['settle_per_worker_fresh']:,} "
        f"vs floor {f['floor_fresh']:,} "
        f"(x{f['ratio_fresh']}), existing {f['settle_per_worker_existing']:,} vs floor "
        f"{f['floor_existing']:,} (x{f['ratio_existing']}); target x{TARGET_RATIO}"
    )
    lines.append(
        f"largest fresh batch under {TX_GAS_CAP:,} gas: {f['max_batch']} "
        f"({f['max_batch_gas']:,} gas)"
    )
    lines.append(json.dumps(f, sort_keys=True))
    return "\n".join(lines)
