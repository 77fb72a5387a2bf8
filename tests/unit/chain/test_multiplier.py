"""The Python quality curve on its own (its equality with the contract is an integration test)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agreemint.multiplier import QualityCurve, multiplier_bps, payout_amount, quality_to_bps

curves = st.builds(QualityCurve, st.integers(0, 10_000), st.integers(10_000, 50_000))


def test_known_points() -> None:
    curve = QualityCurve(min_quality=6_000, max_multiplier=15_000)
    assert multiplier_bps(curve, 5_999) == 0
    assert multiplier_bps(curve, 6_000) == 10_000
    assert multiplier_bps(curve, 8_000) == 12_500
    assert multiplier_bps(curve, 10_000) == 15_000
    assert multiplier_bps(QualityCurve(10_000, 20_000), 10_000) == 20_000
    assert multiplier_bps(QualityCurve(10_000, 20_000), 9_999) == 0
    assert payout_amount(curve, 10**18, 3, 8_000) == 3 * 10**18 * 125 // 100
    assert payout_amount(curve, 7, 3, 6_001) == 21  # floor, like Solidity


@given(curves, st.integers(0, 10_000), st.integers(0, 10_000))
def test_monotone_and_bounded(curve: QualityCurve, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert multiplier_bps(curve, lo) <= multiplier_bps(curve, hi)
    m = multiplier_bps(curve, hi)
    assert m == 0 or 10_000 <= m <= curve.max_multiplier
    assert (m == 0) == (hi < curve.min_quality)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: QualityCurve(10_001, 15_000),
        lambda: QualityCurve(0, 9_999),
        lambda: QualityCurve(0, 50_001),
    ],
)
def test_invalid_curves_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]


def test_quality_conversion() -> None:
    assert quality_to_bps(0.8123) == 8_123
    assert quality_to_bps(1.0) == 10_000
    with pytest.raises(ValueError):
        quality_to_bps(1.01)
    with pytest.raises(ValueError):
        multiplier_bps(QualityCurve(), 10_001)
