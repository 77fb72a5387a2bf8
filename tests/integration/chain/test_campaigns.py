"""Campaign lifecycle: creation, funding, close and refund, pause."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from web3.logs import DISCARD

from agreemint.chain import errors
from agreemint.chain.context import ChainContext
from agreemint.chain.payouts import Payout

from .conftest import advance, new_campaign, now

ROOT = keccak(text="root")
GUARDIAN_ROLE = keccak(text="GUARDIAN_ROLE")
WORKER = "0x00000000000000000000000000000000000A11cE"


async def test_create_and_fund_emit_events(chain: ChainContext) -> None:
    ends_at = await now(chain) + 86_400
    campaign_id = await chain.vault.create_campaign(chain.token.address, 3 * 10**17, ends_at)
    assert campaign_id == await chain.vault.campaign_count() == 1
    created = await chain.vault.contract.events.CampaignCreated().get_logs(from_block=0)
    assert dict(created[0]["args"]) == {
        "campaignId": campaign_id,
        "token": chain.token.address,
        "funder": chain.sender.address,
        "rate": 3 * 10**17,
        "endsAt": ends_at,
    }

    await chain.token.mint(chain.sender.address, 10**20)
    await chain.token.approve(chain.vault.address, 10**20)
    receipt = await chain.vault.fund(campaign_id, 4 * 10**19)
    (funded,) = chain.vault.contract.events.CampaignFunded().process_receipt(
        receipt, errors=DISCARD
    )
    assert dict(funded["args"]) == {
        "campaignId": campaign_id,
        "from": chain.sender.address,
        "amount": 4 * 10**19,
    }
    receipt = await chain.vault.fund_with_mint(campaign_id, 10**19)
    (minted,) = chain.vault.contract.events.CampaignFunded().process_receipt(
        receipt, errors=DISCARD
    )
    assert dict(minted["args"]) == {
        "campaignId": campaign_id,
        "from": "0x" + "00" * 20,
        "amount": 10**19,
    }
    info = await chain.vault.campaign(campaign_id)
    assert (info.escrow, info.paid, info.funder, info.closed) == (
        5 * 10**19,
        0,
        chain.sender.address,
        False,
    )
    assert await chain.token.balance_of(chain.vault.address) == 5 * 10**19


async def test_create_and_fund_reject_bad_arguments(chain: ChainContext) -> None:
    t = await now(chain)

    async def raw(fn: str, *args: object) -> None:
        await chain.sender.send(chain.vault.address, chain.vault.encode(fn, *args))

    with pytest.raises(errors.RewardVaultInvalidToken) as token:
        await raw("createCampaign", "0x" + "00" * 20, 1, t + 100)
    assert token.value.token == "0x" + "00" * 20
    with pytest.raises(errors.RewardVaultInvalidRate) as rate:
        await raw("createCampaign", chain.token.address, 0, t + 100)
    assert rate.value.rate == 0
    with pytest.raises(errors.RewardVaultInvalidEndTime) as end:
        await raw("createCampaign", chain.token.address, 1, t - 1)
    assert end.value.ends_at == t - 1 and end.value.now_timestamp >= t
    campaign_id = await new_campaign(chain, escrow=0)
    with pytest.raises(errors.RewardVaultInvalidAmount) as amount:
        await raw("fund", campaign_id, 0)
    assert amount.value.amount == 0
    with pytest.raises(errors.RewardVaultInvalidAmount) as too_big:
        await raw("fundWithMint", campaign_id, 2**128)
    assert too_big.value.amount == 2**128
    with pytest.raises(errors.ERC20InsufficientAllowance) as allowance:
        await raw("fund", campaign_id, 5)
    assert allowance.value.values == {"spender": chain.vault.address, "allowance": 0, "needed": 5}
    with pytest.raises(errors.RewardVaultUnknownCampaign):
        await raw("fund", 999, 5)


async def test_close_refunds_the_remainder_after_the_end(
    chain: ChainContext, outsider: ChainContext
) -> None:
    campaign_id = await new_campaign(chain, escrow=10 * 10**18, rate=10**18, days=1)
    ends_at = (await chain.vault.campaign(campaign_id)).ends_at
    await chain.vault.settle(campaign_id, keccak(b"b1"), [Payout(WORKER, 3, 6_000)], ROOT)

    with pytest.raises(errors.RewardVaultCampaignNotEnded) as early:
        await chain.vault.close(campaign_id)
    assert early.value.values == {"campaignId": campaign_id, "endsAt": ends_at}
    await advance(chain, 86_400)
    with pytest.raises(errors.RewardVaultUnauthorizedCloser) as stranger:
        await outsider.vault.close(campaign_id)
    assert stranger.value.values == {"campaignId": campaign_id, "account": outsider.sender.address}

    before = await chain.token.balance_of(chain.sender.address)
    receipt = await chain.sender.send(chain.vault.address, chain.vault.encode("close", campaign_id))
    (closed,) = chain.vault.contract.events.CampaignClosed().process_receipt(
        receipt, errors=DISCARD
    )
    assert dict(closed["args"]) == {
        "campaignId": campaign_id,
        "funder": chain.sender.address,
        "refunded": 7 * 10**18,
    }
    assert await chain.token.balance_of(chain.sender.address) == before + 7 * 10**18
    info = await chain.vault.campaign(campaign_id)
    assert (info.closed, info.escrow, info.paid) == (True, 0, 3 * 10**18)

    with pytest.raises(errors.RewardVaultCampaignClosed) as settle_closed:
        await chain.vault.settle(campaign_id, keccak(b"b2"), [Payout(WORKER, 1, 9_000)], ROOT)
    assert settle_closed.value.campaign_id == campaign_id
    with pytest.raises(errors.RewardVaultCampaignClosed):
        await chain.vault.fund_with_mint(campaign_id, 1)
    with pytest.raises(errors.RewardVaultCampaignClosed):
        await chain.vault.close(campaign_id)


async def test_guardian_pause_stops_money_movements(
    chain: ChainContext, outsider: ChainContext
) -> None:
    campaign_id = await new_campaign(chain)
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as denied:
        await outsider.vault.pause()
    assert (denied.value.account, denied.value.needed_role) == (
        outsider.sender.address,
        GUARDIAN_ROLE,
    )

    receipt = await chain.vault.pause()
    (paused,) = chain.vault.contract.events.Paused().process_receipt(receipt, errors=DISCARD)
    assert paused["args"]["account"] == chain.sender.address
    assert await chain.vault.paused()
    with pytest.raises(errors.EnforcedPause):
        await chain.vault.settle(campaign_id, keccak(b"p"), [Payout(WORKER, 1, 9_000)], ROOT)
    with pytest.raises(errors.EnforcedPause):
        await chain.vault.fund_with_mint(campaign_id, 1)
    with pytest.raises(errors.EnforcedPause):
        await chain.vault.create_campaign(chain.token.address, 1, await now(chain) + 100)
    with pytest.raises(errors.EnforcedPause):
        await chain.vault.close(campaign_id)
    with pytest.raises(errors.EnforcedPause):  # already paused
        await chain.vault.pause()
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        await outsider.vault.unpause()

    receipt = await chain.vault.unpause()
    (unpaused,) = chain.vault.contract.events.Unpaused().process_receipt(receipt, errors=DISCARD)
    assert unpaused["args"]["account"] == chain.sender.address
    with pytest.raises(errors.ExpectedPause):
        await chain.vault.unpause()
    await chain.vault.settle(campaign_id, keccak(b"p"), [Payout(WORKER, 1, 9_000)], ROOT)
