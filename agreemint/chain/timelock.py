"""Typed client for the OpenZeppelin TimelockController that governs the vault and the token."""

from __future__ import annotations

from web3.types import TxReceipt

from agreemint.chain.base import ContractClient, bytes32, checksum, uint

NO_PREDECESSOR = bytes(32)


class TimelockClient(ContractClient):
    """Schedule a call, wait the delay, execute it: the only path to change vault parameters."""

    async def min_delay(self) -> int:
        return int(await self.read("getMinDelay"))

    async def operation_id(self, target: str, data: bytes, salt: bytes, value: int = 0) -> bytes:
        return bytes(
            await self.read(
                "hashOperation",
                checksum(target),
                value,
                data,
                NO_PREDECESSOR,
                bytes32(salt, "salt"),
            )
        )

    async def schedule(
        self, target: str, data: bytes, salt: bytes, delay: int, value: int = 0
    ) -> TxReceipt:
        """Queue `target.call{value}(data)`; executable after `delay` seconds (proposer only)."""
        return await self.transact(
            "schedule",
            checksum(target),
            uint(value, 256, "value"),
            data,
            NO_PREDECESSOR,
            bytes32(salt, "salt"),
            uint(delay, 256, "delay"),
        )

    async def execute(self, target: str, data: bytes, salt: bytes, value: int = 0) -> TxReceipt:
        """Run a ready operation (executor only)."""
        return await self.transact(
            "execute",
            checksum(target),
            uint(value, 256, "value"),
            data,
            NO_PREDECESSOR,
            bytes32(salt, "salt"),
        )

    async def is_ready(self, operation_id: bytes) -> bool:
        return bool(await self.read("isOperationReady", operation_id))

    async def is_done(self, operation_id: bytes) -> bool:
        return bool(await self.read("isOperationDone", operation_id))
