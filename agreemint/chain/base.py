"""What every typed contract client shares: the web3 contract object, reads and sends."""

from __future__ import annotations

from typing import Any, cast

from eth_typing import ChecksumAddress, HexAddress, HexStr
from eth_utils import is_address, to_checksum_address
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxReceipt

from agreemint.chain.artifacts import Artifact
from agreemint.chain.errors import ChainConfigError, InvalidChainInput, RevertDecoder
from agreemint.chain.sender import TransactionSender

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def checksum(value: str, what: str = "address", *, allow_zero: bool = False) -> str:
    """`value` as a checksum address; InvalidChainInput when it is not one (or is zero)."""
    if not isinstance(value, str) or not is_address(value):
        raise InvalidChainInput(f"{what} is not an address: {value!r}")
    address = cast(str, to_checksum_address(value))
    if not allow_zero and address == ZERO_ADDRESS:
        raise InvalidChainInput(f"{what} is the zero address")
    return address


def bytes32(value: bytes | str, what: str) -> bytes:
    """`value` (bytes or 0x-hex) as exactly 32 bytes."""
    raw = value
    if isinstance(value, str):
        text = value[2:] if value.startswith("0x") else value
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise InvalidChainInput(f"{what} is not hex: {value!r}") from None
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise InvalidChainInput(f"{what} must be 32 bytes")
    return raw


def uint(value: int, bits: int, what: str) -> int:
    """`value` checked to fit an unsigned Solidity integer of `bits` bits."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise InvalidChainInput(f"{what} must be an integer in [0, 2^{bits}): {value!r}")
    return value


class ContractClient:
    """One deployed contract: typed subclasses add the methods."""

    def __init__(
        self,
        w3: AsyncWeb3,
        address: str,
        artifact: Artifact,
        decoder: RevertDecoder,
        sender: TransactionSender | None = None,
    ) -> None:
        self.w3 = w3
        self.address = checksum(address, f"{artifact.name} address")
        self.artifact = artifact
        self.contract: AsyncContract = w3.eth.contract(
            address=ChecksumAddress(HexAddress(HexStr(self.address))), abi=artifact.abi
        )
        self.decoder = decoder
        self.sender = sender

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata for `function(*args)`."""
        return bytes.fromhex(self.contract.encode_abi(function, args=list(args))[2:])

    async def read(self, function: str, *args: Any) -> Any:
        """Call a view function; a revert raises its typed error."""
        try:
            return await self.contract.functions[function](*args).call()
        except (ContractLogicError, Web3RPCError) as exc:
            from agreemint.chain.sender import revert_data

            raise self.decoder.decode(revert_data(exc)) or exc from exc

    async def transact(self, function: str, *args: Any, gas: int | None = None) -> TxReceipt:
        """Send `function(*args)` from the signer and wait for it."""
        if self.sender is None:
            raise ChainConfigError("no signer configured (CHAIN__SIGNER_KEY)")
        return await self.sender.send(self.address, self.encode(function, *args), gas=gas)

    async def has_role(self, role: str, account: str) -> bool:
        """Whether `account` holds the role named `role` (e.g. "SETTLER_ROLE")."""
        return bool(await self.read("hasRole", await self.role_id(role), checksum(account)))

    async def role_id(self, role: str) -> bytes:
        if role == "DEFAULT_ADMIN_ROLE":
            return bytes(32)
        return bytes(await self.read(role))

    async def grant_role(self, role: str, account: str) -> TxReceipt:
        return await self.transact("grantRole", await self.role_id(role), checksum(account))

    async def renounce_role(self, role: str, account: str) -> TxReceipt:
        return await self.transact("renounceRole", await self.role_id(role), checksum(account))
