"""Gas benchmark: the same as `agreemint chain gas-report` (table, then one JSON line)."""

from __future__ import annotations

import asyncio

from agreemint.chain.gas_report import measure, render

if __name__ == "__main__":
    print(render(asyncio.run(measure())))
