"""LabelToken: minting by role only, and EIP-2612 permit signed off-chain."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3.logs import DISCARD

from agreemint.chain import errors
from agreemint.chain.context import ChainContext

from .conftest import now


async def test_mint_emits_transfer_from_zero(chain: ChainContext) -> None:
    holder = Account.create().address
    receipt = await chain.token.mint(holder, 42)
    (event,) = chain.token.contract.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert dict(event["args"]) == {"from": "0x" + "00" * 20, "to": holder, "value": 42}
    assert await chain.token.total_supply() == 42
    assert (await chain.token.symbol(), await chain.token.decimals()) == ("LBL", 18)


async def test_permit_sets_an_allowance_without_a_transaction_from_the_owner(
    chain: ChainContext,
) -> None:
    owner = Account.create()
    spender = chain.vault.address
    deadline = await now(chain) + 3_600
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Label Token",
            "version": "1",
            "chainId": await chain.w3.eth.chain_id,
            "verifyingContract": chain.token.address,
        },
        "message": {
            "owner": owner.address,
            "spender": spender,
            "value": 500,
            "nonce": 0,
            "deadline": deadline,
        },
    }
    sig = Account.sign_typed_data(owner.key, full_message=typed)
    receipt = await chain.token.transact(
        "permit",
        owner.address,
        spender,
        500,
        deadline,
        sig.v,
        sig.r.to_bytes(32, "big"),
        sig.s.to_bytes(32, "big"),
    )
    (approval,) = chain.token.contract.events.Approval().process_receipt(receipt, errors=DISCARD)
    assert dict(approval["args"]) == {"owner": owner.address, "spender": spender, "value": 500}
    assert await chain.token.allowance(owner.address, spender) == 500

    # The same signature cannot be replayed: the nonce moved on.
    with pytest.raises(errors.ERC2612InvalidSigner) as replay:
        await chain.token.transact(
            "permit",
            owner.address,
            spender,
            500,
            deadline,
            sig.v,
            sig.r.to_bytes(32, "big"),
            sig.s.to_bytes(32, "big"),
        )
    assert replay.value.owner == owner.address and replay.value.signer != owner.address
