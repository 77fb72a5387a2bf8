"""Deploying the timelock, LabelToken and RewardVault, and the deployment file the app reads."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak

from agreemint.chain.artifacts import Artifact, load_artifact
from agreemint.chain.base import ZERO_ADDRESS, checksum
from agreemint.chain.errors import ChainConfigError, TransactionFailed
from agreemint.chain.sender import TransactionSender
from agreemint.chain.settings import ChainSettings

log = logging.getLogger(__name__)

MINTER_ROLE = keccak(text="MINTER_ROLE")
DEFAULT_ADMIN_ROLE = bytes(32)


@dataclass(frozen=True)
class Deployment:
    """Addresses of one deployment, as written to the deployment file."""

    chain_id: int
    token: str
    vault: str
    timelock: str
    deployer: str
    block_number: int

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)  # atomic: a crash never leaves a half-written file

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ChainConfigError(
                f"no deployment file at {path}; run `agreemint chain deploy`"
            ) from exc
        return cls(**raw)


def deploy_data(artifact: Artifact, *args: Any) -> bytes:
    """Creation bytecode followed by the ABI-encoded constructor arguments."""
    ctor: dict[str, Any] = next(
        (e for e in artifact.abi if e["type"] == "constructor"), {"inputs": []}
    )
    types = [i["type"] for i in ctor["inputs"]]
    return bytes.fromhex(artifact.bytecode[2:]) + abi_encode(types, list(args))


async def deploy_contract(sender: TransactionSender, artifact: Artifact, *args: Any) -> str:
    """Deploy one contract from the signer; returns its address."""
    receipt = await sender.send(None, deploy_data(artifact, *args))
    address = receipt.get("contractAddress")
    if not address:
        raise TransactionFailed(f"{artifact.name} deployment created no contract")
    log.info("deployed %s at %s", artifact.name, address)
    return str(address)


def _role_holder(configured: str, default: str, what: str) -> str:
    return checksum(configured, what) if configured else default


async def deploy_all(sender: TransactionSender, settings: ChainSettings) -> Deployment:
    """Timelock, token and vault, with every admin right ending at the timelock.

    The deployer keeps no admin role: it briefly administers the token only to give the vault
    the minter role, then hands the admin role to the timelock and renounces its own.
    """
    me = sender.address
    proposer = _role_holder(settings.governance_proposer, me, "governance proposer")
    manager = _role_holder(settings.manager, me, "manager")
    timelock = await deploy_contract(
        sender,
        load_artifact("TimelockController"),
        settings.timelock_delay_seconds,
        [proposer],
        [proposer],
        ZERO_ADDRESS,  # no extra admin: the timelock administers itself
    )
    token = await deploy_contract(
        sender, load_artifact("LabelToken"), settings.token_name, settings.token_symbol, me, manager
    )
    vault = await deploy_contract(
        sender,
        load_artifact("RewardVault"),
        timelock,
        _role_holder(settings.guardian, me, "guardian"),
        _role_holder(settings.settler, me, "settler"),
        manager,
        settings.min_quality_bps,
        settings.max_multiplier_bps,
    )
    token_abi = load_artifact("LabelToken").abi
    token_contract = sender.w3.eth.contract(address=token, abi=token_abi)  # type: ignore[call-overload]

    def call(fn: str, *args: Any) -> bytes:
        return bytes.fromhex(token_contract.encode_abi(fn, args=list(args))[2:])

    await sender.send(token, call("grantRole", MINTER_ROLE, vault))
    await sender.send(token, call("grantRole", DEFAULT_ADMIN_ROLE, timelock))
    receipt = await sender.send(token, call("renounceRole", DEFAULT_ADMIN_ROLE, me))
    return Deployment(
        chain_id=await sender.chain_id(),
        token=token,
        vault=vault,
        timelock=timelock,
        deployer=me,
        block_number=int(receipt["blockNumber"]),
    )
