"""The nonce counter hands out distinct consecutive nonces to concurrent tasks."""

from __future__ import annotations

import asyncio
from typing import Any

from agreemint.chain.nonce import NonceManager


class FakeEth:
    def __init__(self) -> None:
        self.pending = 5
        self.calls = 0

    async def get_transaction_count(self, address: str, block: str) -> int:
        self.calls += 1
        await asyncio.sleep(0.01)  # let other tasks pile up behind the first load
        return self.pending


class FakeWeb3:
    def __init__(self) -> None:
        self.eth = FakeEth()


async def test_concurrent_reservations_are_unique() -> None:
    w3: Any = FakeWeb3()
    nonces = NonceManager(w3, "0x0")
    got = await asyncio.gather(*(nonces.reserve() for _ in range(50)))
    assert sorted(got) == list(range(5, 55))
    assert w3.eth.calls == 1


async def test_resync_reloads_from_pending() -> None:
    w3: Any = FakeWeb3()
    nonces = NonceManager(w3, "0x0")
    assert [await nonces.reserve() for _ in range(3)] == [5, 6, 7]
    w3.eth.pending = 7  # nonce 7 was never broadcast
    nonces.resync()
    assert await nonces.reserve() == 7
