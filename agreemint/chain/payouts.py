"""Payout batches: validation and the deterministic split into settle transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils import keccak

from agreemint.chain.base import bytes32, checksum, uint
from agreemint.chain.errors import InvalidChainInput
from agreemint.multiplier import QUALITY_SCALE

# Measured by `agreemint chain gas-report` (fresh workers, the expensive case), rounded up with
# room: used to size chunks so one settle stays under the per-transaction gas cap.
SETTLE_BASE_GAS = 120_000
SETTLE_GAS_PER_WORKER = 30_000


@dataclass(frozen=True, slots=True)
class Payout:
    """One worker's line in a batch: verified labels and quality in basis points."""

    worker: str
    count: int
    quality_bps: int


@dataclass(frozen=True, slots=True)
class SettleChunk:
    """One settle transaction's worth of a batch."""

    batch_id: bytes
    payouts: tuple[Payout, ...]


def validate_payouts(payouts: Sequence[Payout]) -> tuple[Payout, ...]:
    """Checked copies (checksum addresses); InvalidChainInput names the first bad line."""
    if not payouts:
        raise InvalidChainInput("a batch needs at least one payout")
    checked = []
    for index, p in enumerate(payouts):
        worker = checksum(p.worker, f"payout {index} worker")
        uint(p.count, 32, f"payout {index} count")
        if (
            isinstance(p.quality_bps, bool)
            or not isinstance(p.quality_bps, int)
            or not (0 <= p.quality_bps <= QUALITY_SCALE)
        ):
            raise InvalidChainInput(f"payout {index} quality_bps must be in [0, {QUALITY_SCALE}]")
        checked.append(Payout(worker, p.count, p.quality_bps))
    return tuple(checked)


def chunk_batch_id(batch_id: bytes, index: int) -> bytes:
    """Id of chunk `index` of a batch: the batch id itself for chunk 0, a hash for the others."""
    if index == 0:
        return batch_id
    return keccak(batch_id + index.to_bytes(4, "big"))


def max_workers_for_gas(gas_limit: int) -> int:
    """How many (fresh) workers one settle may pay under `gas_limit`."""
    return max(1, (gas_limit - SETTLE_BASE_GAS) // SETTLE_GAS_PER_WORKER)


def plan_chunks(
    batch_id: bytes | str, payouts: Sequence[Payout], max_workers: int
) -> list[SettleChunk]:
    """Split a batch into settle transactions of at most `max_workers` payouts.

    Deterministic in (batch id, payouts, max_workers): a caller that persists the plan, or keeps
    the same cap, can resend after a crash and skip chunks the vault reports as settled.
    """
    if max_workers < 1:
        raise InvalidChainInput("max_workers must be at least 1")
    bid = bytes32(batch_id, "batch id")
    if bid == bytes(32):
        raise InvalidChainInput("batch id must not be zero")
    checked = validate_payouts(payouts)
    return [
        SettleChunk(chunk_batch_id(bid, i), checked[start : start + max_workers])
        for i, start in enumerate(range(0, len(checked), max_workers))
    ]
