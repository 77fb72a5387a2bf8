"""Roles after deployment, who may do what, and a curve change through the timelock."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from web3.logs import DISCARD

from agreemint.chain import errors
from agreemint.chain.context import ChainContext
from agreemint.chain.payouts import Payout
from agreemint.multiplier import QualityCurve
from tests.chain_support import TIMELOCK_DELAY

from .conftest import advance, new_campaign

ROLES = {
    name: keccak(text=name)
    for name in ("GOVERNOR_ROLE", "GUARDIAN_ROLE", "SETTLER_ROLE", "MANAGER_ROLE")
}
MINTER_ROLE = keccak(text="MINTER_ROLE")
SALT = keccak(text="curve-change-1")


async def test_deployment_hands_admin_rights_to_the_timelock(chain: ChainContext) -> None:
    me, timelock, vault = chain.sender.address, chain.timelock.address, chain.vault.address
    assert await chain.vault.has_role("DEFAULT_ADMIN_ROLE", timelock)
    assert await chain.vault.has_role("GOVERNOR_ROLE", timelock)
    assert not await chain.vault.has_role("DEFAULT_ADMIN_ROLE", me)
    assert not await chain.vault.has_role("GOVERNOR_ROLE", me)
    for role in ("GUARDIAN_ROLE", "SETTLER_ROLE", "MANAGER_ROLE"):
        assert await chain.vault.has_role(role, me)
    assert await chain.token.has_role("DEFAULT_ADMIN_ROLE", timelock)
    assert not await chain.token.has_role("DEFAULT_ADMIN_ROLE", me)
    assert await chain.token.has_role("MINTER_ROLE", vault)
    assert await chain.token.has_role("MINTER_ROLE", me)
    assert await chain.timelock.min_delay() == TIMELOCK_DELAY
    assert await chain.vault.quality_curve() == QualityCurve(6_000, 15_000)


async def test_roles_are_enforced(chain: ChainContext, outsider: ChainContext) -> None:
    campaign_id = await new_campaign(chain)
    who = outsider.sender.address

    cases = [
        (
            outsider.vault.settle(campaign_id, keccak(b"x"), [Payout(who, 1, 9_000)], keccak(b"r")),
            "SETTLER_ROLE",
        ),
        (outsider.vault.create_campaign(chain.token.address, 1, 2**40), "MANAGER_ROLE"),
        (outsider.vault.fund_with_mint(campaign_id, 1), "MANAGER_ROLE"),
        (outsider.vault.pause(), "GUARDIAN_ROLE"),
    ]
    for call, role in cases:
        with pytest.raises(errors.AccessControlUnauthorizedAccount) as denied:
            await call
        assert denied.value.values == {"account": who, "neededRole": ROLES[role]}

    with pytest.raises(errors.AccessControlUnauthorizedAccount) as mint:
        await outsider.token.mint(who, 1)
    assert mint.value.values == {"account": who, "neededRole": MINTER_ROLE}
    # Not even the deployer may change the curve directly: only the timelock governs.
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as direct:
        await chain.vault.transact("setQualityCurve", 5_000, 20_000)
    assert direct.value.values == {
        "account": chain.sender.address,
        "neededRole": ROLES["GOVERNOR_ROLE"],
    }
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as grant:
        await chain.vault.grant_role("SETTLER_ROLE", who)
    assert grant.value.values == {"account": chain.sender.address, "neededRole": bytes(32)}
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as propose:
        await outsider.timelock.schedule(chain.vault.address, b"", SALT, TIMELOCK_DELAY)
    assert propose.value.values == {"account": who, "neededRole": keccak(text="PROPOSER_ROLE")}


async def test_curve_change_goes_through_the_timelock(chain: ChainContext) -> None:
    vault, timelock = chain.vault, chain.timelock
    new_curve = QualityCurve(min_quality=5_000, max_multiplier=20_000)
    data = vault.set_quality_curve_calldata(new_curve)

    with pytest.raises(errors.TimelockInsufficientDelay) as short:
        await timelock.schedule(vault.address, data, SALT, TIMELOCK_DELAY - 1)
    assert short.value.values == {"delay": TIMELOCK_DELAY - 1, "minDelay": TIMELOCK_DELAY}

    await timelock.schedule(vault.address, data, SALT, TIMELOCK_DELAY)
    op = await timelock.operation_id(vault.address, data, SALT)
    assert not await timelock.is_ready(op)
    with pytest.raises(errors.TimelockUnexpectedOperationState) as early:
        await timelock.execute(vault.address, data, SALT)
    assert early.value.operation_id == op
    assert await vault.quality_curve() == QualityCurve(6_000, 15_000)

    await advance(chain, TIMELOCK_DELAY)
    assert await timelock.is_ready(op)
    receipt = await timelock.execute(vault.address, data, SALT)
    (updated,) = vault.contract.events.QualityCurveUpdated().process_receipt(
        receipt, errors=DISCARD
    )
    assert dict(updated["args"]) == {"minQuality": 5_000, "maxMultiplier": 20_000}
    assert await timelock.is_done(op)
    assert await vault.quality_curve() == new_curve
    assert await vault.quality_multiplier(10_000) == 20_000
    assert await vault.quality_multiplier(4_999) == 0


async def test_timelock_bubbles_the_vaults_curve_validation(chain: ChainContext) -> None:
    bad = chain.vault.encode("setQualityCurve", 6_000, 9_999)  # below 1x
    await chain.timelock.schedule(chain.vault.address, bad, SALT, TIMELOCK_DELAY)
    await advance(chain, TIMELOCK_DELAY)
    with pytest.raises(errors.RewardVaultInvalidCurve) as invalid:
        await chain.timelock.execute(chain.vault.address, bad, SALT)
    assert invalid.value.values == {"minQuality": 6_000, "maxMultiplier": 9_999}
