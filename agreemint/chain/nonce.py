"""One nonce counter per signer, safe for concurrent sends from one event loop."""

from __future__ import annotations

import asyncio

from web3 import AsyncWeb3


class NonceManager:
    """Hands out consecutive nonces for one address.

    The counter is read and incremented with no await in between, so parallel tasks never get
    the same nonce. It is (re)loaded from the node's "pending" count on first use and after
    `resync()`, which callers invoke when a send failed after its nonce was reserved (that nonce
    would otherwise be a gap that blocks every later transaction).
    """

    def __init__(self, w3: AsyncWeb3, address: str) -> None:
        self._w3 = w3
        self._address = address
        self._next: int | None = None
        self._lock = asyncio.Lock()

    async def reserve(self) -> int:
        """The next unused nonce, reserved for the caller."""
        if self._next is None:
            async with self._lock:
                if self._next is None:
                    self._next = await self._w3.eth.get_transaction_count(
                        self._address,  # type: ignore[arg-type]
                        "pending",
                    )
        nonce = self._next
        self._next = nonce + 1
        return nonce

    def resync(self) -> None:
        """Forget the counter; the next `reserve` reloads it from the node's pending count."""
        self._next = None
