"""A real anvil node for the whole session; fresh contracts for every test.

Each test deploys its own timelock, token and vault (about 0.2 s), so tests never share state
except the node's clock, which tests only ever move forward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eth_account import Account

from agreemint.chain.anvil import ANVIL_DEV_KEY
from agreemint.chain.context import ChainContext, make_sender, make_web3
from agreemint.chain.deploy import Deployment, deploy_all
from tests.chain_support import chain_settings


async def bind(url: str, key: str, deployment: Deployment, **overrides: Any) -> ChainContext:
    """A client for an existing deployment, signing with `key` (funded with ETH on anvil)."""
    cfg = chain_settings(**overrides)
    w3 = make_web3(url, cfg)
    sender = make_sender(w3, key, cfg)
    await w3.provider.make_request("anvil_setBalance", [sender.address, hex(10**21)])
    return ChainContext.bind(sender, deployment, cfg)


@pytest.fixture
async def chain(anvil_url: str) -> AsyncIterator[ChainContext]:
    """Fresh contracts; the dev account deploys and holds guardian, settler, manager and minter."""
    cfg = chain_settings()
    w3 = make_web3(anvil_url, cfg)
    sender = make_sender(w3, ANVIL_DEV_KEY, cfg)
    context = ChainContext.bind(sender, await deploy_all(sender, cfg), cfg)
    yield context
    await w3.provider.disconnect()


@pytest.fixture
async def outsider(anvil_url: str, chain: ChainContext) -> AsyncIterator[ChainContext]:
    """The same contracts seen by an account holding no role at all."""
    context = await bind(anvil_url, Account.create().key.to_0x_hex(), chain.deployment)
    yield context
    await context.w3.provider.disconnect()


async def now(chain: ChainContext) -> int:
    return int((await chain.w3.eth.get_block("latest"))["timestamp"])


async def advance(chain: ChainContext, seconds: int) -> None:
    """Move the node's clock forward and mine a block at the new time."""
    await chain.w3.provider.make_request("evm_increaseTime", [seconds])
    await chain.w3.provider.make_request("evm_mine", [])


async def new_campaign(
    chain: ChainContext, escrow: int = 10**21, rate: int = 10**18, days: int = 7
) -> int:
    """A campaign on the LabelToken, funded by minting into it."""
    campaign_id = await chain.vault.create_campaign(
        chain.token.address, rate, await now(chain) + days * 86_400
    )
    if escrow:
        await chain.vault.fund_with_mint(campaign_id, escrow)
    return campaign_id
