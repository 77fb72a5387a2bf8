"""Signing and sending: local keys, EIP-1559 fees, one nonce counter, typed reverts."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from agreemint.chain.errors import (
    ChainError,
    ContractRevert,
    RevertDecoder,
    TransactionFailed,
)
from agreemint.chain.nonce import NonceManager
from agreemint.chain.settings import ChainSettings

log = logging.getLogger(__name__)


class GasCapExceeded(ChainError):
    """The estimate is above the configured per-transaction gas cap (or the block gas limit)."""

    def __init__(self, estimate: int, cap: int) -> None:
        super().__init__()
        self.args = (f"gas estimate {estimate} exceeds cap {cap}",)
        self.estimate = estimate
        self.cap = cap


def revert_data(exc: BaseException) -> Any:
    """The raw revert payload web3 attached to a failed call or estimate, if any."""
    if isinstance(exc, ContractLogicError):
        return exc.data
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict):
            return error.get("data")
    return None


class TransactionSender:
    """Sends transactions for one local key and waits for them.

    Gas is estimated first (a revert surfaces there, decoded, before any nonce is taken), then a
    nonce is reserved synchronously, the transaction is signed locally and broadcast.
    """

    def __init__(
        self,
        w3: AsyncWeb3,
        account: LocalAccount,
        settings: ChainSettings,
        decoder: RevertDecoder,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.settings = settings
        self.decoder = decoder
        self.nonces = NonceManager(w3, account.address)
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return cast(str, self.account.address)

    async def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = await self.w3.eth.chain_id
        return self._chain_id

    def decode(self, exc: BaseException) -> ContractRevert | None:
        return self.decoder.decode(revert_data(exc))

    async def call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        """eth_call from this signer; a revert raises its typed error."""
        tx: TxParams = {"from": self.address, "to": to, "data": HexBytes(data)}
        try:
            return bytes(await self.w3.eth.call(tx, block))  # type: ignore[arg-type]
        except (ContractLogicError, Web3RPCError) as exc:
            raise self.decode(exc) or exc from exc

    async def estimate_gas(self, to: str | None, data: bytes, value: int = 0) -> int:
        """Gas estimate; a revert raises its typed error."""
        tx: dict[str, Any] = {"from": self.address, "data": HexBytes(data), "value": value}
        if to is not None:
            tx["to"] = to
        try:
            return await self.w3.eth.estimate_gas(cast(TxParams, tx))
        except (ContractLogicError, Web3RPCError) as exc:
            raise self.decode(exc) or exc from exc

    async def gas_limit_for(self, to: str | None, data: bytes, value: int = 0) -> int:
        """Estimate plus the configured margin, refused above the per-transaction cap."""
        estimate = await self.estimate_gas(to, data, value)
        if estimate > self.settings.tx_gas_cap:
            raise GasCapExceeded(estimate, self.settings.tx_gas_cap)
        padded = estimate * (100 + self.settings.gas_margin_percent) // 100
        return min(padded, self.settings.tx_gas_cap)

    async def _fees(self) -> tuple[int, int]:
        block = await self.w3.eth.get_block("latest")
        base_fee = int(block.get("baseFeePerGas", 0))
        tip = self.settings.priority_fee_wei
        max_fee = self.settings.base_fee_multiplier * base_fee + tip
        if self.settings.max_fee_wei is not None:
            max_fee = min(max_fee, self.settings.max_fee_wei)
            tip = min(tip, max_fee)
        return max_fee, tip

    async def send(
        self, to: str | None, data: bytes, *, gas: int | None = None, value: int = 0
    ) -> TxReceipt:
        """Sign, broadcast and wait for `confirmations`; raises the decoded revert on failure."""
        if gas is None:
            gas = await self.gas_limit_for(to, data, value)
        max_fee, tip = await self._fees()
        chain_id = await self.chain_id()
        nonce = await self.nonces.reserve()
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "data": HexBytes(data),
            "value": value,
        }
        if to is not None:
            tx["to"] = to
        signed = self.account.sign_transaction(tx)
        try:
            tx_hash = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            # The reserved nonce was never used: reload the counter so it does not leave a gap.
            self.nonces.resync()
            decoded = self.decode(exc)
            raise decoded or exc from exc
        log.debug("sent tx %s nonce=%d gas=%d", tx_hash.to_0x_hex(), nonce, gas)
        receipt = await self.wait(tx_hash)
        if receipt["status"] != 1:
            await self._raise_mined_revert(tx, receipt)
        return receipt

    async def wait(self, tx_hash: HexBytes) -> TxReceipt:
        """Poll for the receipt, then for the configured confirmations.

        Polls by hand instead of web3's wait helper: that one cancels an in-flight HTTP request
        on timeout, which can deadlock web3's session lock (web3.py #3867).
        """
        deadline = time.monotonic() + self.settings.receipt_timeout_seconds
        interval = self.settings.poll_interval_seconds
        receipt: TxReceipt | None = None
        while receipt is None:
            try:
                receipt = await self.w3.eth.get_transaction_receipt(tx_hash)
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise TransactionFailed(
                        "no receipt before timeout", tx_hash.to_0x_hex()
                    ) from None
                await asyncio.sleep(interval)
        target = receipt["blockNumber"] + self.settings.confirmations - 1
        while await self.w3.eth.block_number < target:
            if time.monotonic() > deadline:
                raise TransactionFailed(
                    "not enough confirmations before timeout", tx_hash.to_0x_hex()
                )
            await asyncio.sleep(interval)
        return receipt

    async def _raise_mined_revert(self, tx: dict[str, Any], receipt: TxReceipt) -> None:
        """Replay a mined failure as a call on the parent state to recover its reason."""
        tx_hash = receipt["transactionHash"].to_0x_hex()
        replay: dict[str, Any] = {k: tx[k] for k in ("data", "value") if k in tx}
        replay["from"] = self.address
        if "to" in tx:
            replay["to"] = tx["to"]
        replay["gas"] = tx["gas"]
        try:
            await self.w3.eth.call(cast(TxParams, replay), receipt["blockNumber"] - 1)
        except (ContractLogicError, Web3RPCError) as exc:
            decoded = self.decode(exc)
            if decoded is not None:
                decoded.tx_hash = tx_hash
                raise decoded from exc
        raise TransactionFailed("transaction reverted", tx_hash)
