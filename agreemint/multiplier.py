"""The quality multiplier curve, bit-for-bit the same integer math as `RewardVault._multiplier`.

Qualities and multipliers are in basis points (10_000 = perfect quality, 10_000 = 1x). Below the
minimum quality a worker earns nothing; from the minimum up, the multiplier grows linearly from 1x
to the maximum at perfect quality. Floor division everywhere, as in Solidity, so the Python amount
equals the on-chain amount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

QUALITY_SCALE = 10_000
MULTIPLIER_SCALE = 10_000
MAX_MULTIPLIER_CAP = 50_000


@dataclass(frozen=True, slots=True)
class QualityCurve:
    """Governed parameters of the curve (basis points)."""

    min_quality: int = 6_000
    max_multiplier: int = 15_000

    def __post_init__(self) -> None:
        if not 0 <= self.min_quality <= QUALITY_SCALE:
            raise ValueError(f"min_quality must be in [0, {QUALITY_SCALE}]: {self.min_quality}")
        if not MULTIPLIER_SCALE <= self.max_multiplier <= MAX_MULTIPLIER_CAP:
            raise ValueError(
                f"max_multiplier must be in [{MULTIPLIER_SCALE}, {MAX_MULTIPLIER_CAP}]: "
                f"{self.max_multiplier}"
            )


def quality_to_bps(quality: float) -> int:
    """A quality estimate in [0, 1] as basis points (rounded down, like a conservative payer)."""
    if not 0.0 <= quality <= 1.0:
        raise ValueError(f"quality must be in [0, 1]: {quality}")
    return int(quality * QUALITY_SCALE)


def multiplier_bps(curve: QualityCurve, quality_bps: int) -> int:
    """The multiplier for `quality_bps`, in basis points (0 below the minimum)."""
    if not 0 <= quality_bps <= QUALITY_SCALE:
        raise ValueError(f"quality_bps must be in [0, {QUALITY_SCALE}]: {quality_bps}")
    if quality_bps < curve.min_quality:
        return 0
    if curve.min_quality == QUALITY_SCALE:
        return curve.max_multiplier
    bonus = curve.max_multiplier - MULTIPLIER_SCALE
    span = QUALITY_SCALE - curve.min_quality
    return MULTIPLIER_SCALE + bonus * (quality_bps - curve.min_quality) // span


def payout_amount(curve: QualityCurve, rate: int, count: int, quality_bps: int) -> int:
    """Token units one worker receives: count × rate × multiplier, floored like the contract."""
    if count < 0 or rate < 0:
        raise ValueError("count and rate must be non-negative")
    return count * rate * multiplier_bps(curve, quality_bps) // MULTIPLIER_SCALE
