"""Token amounts for people: wei in, a short decimal string out."""

from __future__ import annotations

from decimal import Decimal

WEI_PER_TOKEN = 10**18
MICRO_TO_WEI = 10**12


def format_tokens(wei: int, symbol: str = "LBL", places: int = 4) -> str:
    """`1250000000000000000` → `1.25 LBL` (rounded down: never show more than is there)."""
    value = Decimal(wei) / WEI_PER_TOKEN
    quantum = Decimal(1).scaleb(-places)
    shown = value.quantize(quantum, rounding="ROUND_DOWN").normalize()
    text = f"{shown:f}"
    return f"{text} {symbol}"
