"""Revert data decoded into typed exceptions from ABIs alone (no node)."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector as selector
from eth_utils import keccak

from agreemint.chain import errors
from agreemint.chain.context import make_decoder


def test_custom_error_with_arguments() -> None:
    data = selector("RewardVaultBatchAlreadySettled(bytes32,uint256)") + encode(
        ["bytes32", "uint256"], [keccak(b"b"), 7]
    )
    exc = make_decoder().decode("0x" + data.hex())
    assert isinstance(exc, errors.RewardVaultBatchAlreadySettled)
    assert isinstance(exc, errors.ChainError)
    assert (exc.batch_id, exc.campaign_id) == (keccak(b"b"), 7)
    assert exc.values == {"batchId": keccak(b"b"), "campaignId": 7}


def test_openzeppelin_errors_and_checksummed_addresses() -> None:
    account = "0x" + "ab" * 20
    data = selector("AccessControlUnauthorizedAccount(address,bytes32)") + encode(
        ["address", "bytes32"], [account, keccak(text="SETTLER_ROLE")]
    )
    exc = make_decoder().decode(data)
    assert isinstance(exc, errors.AccessControlUnauthorizedAccount)
    assert exc.account == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert exc.needed_role == keccak(text="SETTLER_ROLE")


def test_builtin_error_and_panic() -> None:
    decoder = make_decoder()
    message = decoder.decode(selector("Error(string)") + encode(["string"], ["nope"]))
    assert isinstance(message, errors.Error) and message.message == "nope"
    panic = decoder.decode(selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    assert isinstance(panic, errors.Panic) and panic.code == 0x11


def test_unknown_or_empty_data() -> None:
    decoder = make_decoder()
    assert decoder.decode(None) is None
    assert decoder.decode("0x") is None
    assert decoder.decode(b"\xde\xad\xbe\xef") is None
    assert decoder.decode("0xzz") is None
    truncated = selector("RewardVaultInvalidRate(uint256)") + b"\x00" * 5
    assert decoder.decode(truncated) is None


def test_every_contract_error_has_a_class() -> None:
    """A new custom error in the contracts must get a typed exception here too."""
    from agreemint.chain.artifacts import load_artifact

    names = {e["name"] for e in load_artifact("RewardVault").abi if e["type"] == "error"}
    names |= {e["name"] for e in load_artifact("LabelToken").abi if e["type"] == "error"}
    own = {n for n in names if n.startswith("RewardVault")}
    assert own <= set(errors.ContractRevert.registry)
