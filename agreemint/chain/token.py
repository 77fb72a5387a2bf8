"""Typed client for LabelToken (and any ERC-20 the vault escrows)."""

from __future__ import annotations

from web3.types import TxReceipt

from agreemint.chain.base import ContractClient, checksum, uint


class LabelTokenClient(ContractClient):
    """ERC-20 reads and the minter's `mint`."""

    async def balance_of(self, account: str) -> int:
        return int(await self.read("balanceOf", checksum(account, allow_zero=True)))

    async def total_supply(self) -> int:
        return int(await self.read("totalSupply"))

    async def decimals(self) -> int:
        return int(await self.read("decimals"))

    async def symbol(self) -> str:
        return str(await self.read("symbol"))

    async def allowance(self, owner: str, spender: str) -> int:
        return int(await self.read("allowance", checksum(owner), checksum(spender)))

    async def mint(self, to: str, amount: int) -> TxReceipt:
        """Mint `amount` to `to` (signer needs MINTER_ROLE)."""
        return await self.transact("mint", checksum(to, "recipient"), uint(amount, 256, "amount"))

    async def approve(self, spender: str, amount: int) -> TxReceipt:
        return await self.transact(
            "approve", checksum(spender, "spender"), uint(amount, 256, "amount")
        )

    async def transfer(self, to: str, amount: int) -> TxReceipt:
        return await self.transact(
            "transfer", checksum(to, "recipient"), uint(amount, 256, "amount")
        )
