"""WalletService on SQLite and PostgreSQL: challenges, linking, relinking, and every refusal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from agreemint import siwe
from agreemint.runtime import LOCAL_CHAIN_ID, Services
from agreemint.services.wallets import WalletService
from agreemint.store.models import AuditEntry, WalletChallenge, Worker
from agreemint.wallet_errors import (
    AddressMismatch,
    AddressTaken,
    AlreadyLinked,
    ChallengeExpired,
    ChallengeUsed,
    ForeignChallenge,
    MalformedAddress,
    NoChallenge,
    UnknownChallenge,
    UnreadableReply,
    WalletError,
    WrongSignature,
)
from tests.conftest import Clock
from tests.factories import make_workers


def sign(text: str, account: LocalAccount) -> str:
    return Account.sign_message(encode_defunct(text=text), account.key).signature.to_0x_hex()


async def state(services: Services) -> dict[str, Any]:
    """Everything linking may change, to assert a refusal changed nothing."""
    async with services.sessionmaker() as s:
        workers = [(w.id, w.wallet_address, w.wallet_linked_at)
                   for w in await s.scalars(select(Worker).order_by(Worker.id))]
        used = [(c.id, c.used_at) for c in await s.scalars(select(WalletChallenge))]
        audits = [a.action for a in await s.scalars(select(AuditEntry))]
    return {"workers": workers, "challenges": used, "audit": audits}


async def audit_of(services: Services, action: str) -> list[dict[str, Any]]:
    async with services.sessionmaker() as s:
        return [dict(a.data) for a in await s.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


async def test_issue_link_and_status(services: Services, clock: Clock) -> None:
    wallets = services.wallets
    [ann] = await make_workers(services, 1)
    account = Account.create()
    assert (await wallets.status(ann.id)).address is None
    issued = await wallets.issue_challenge(ann.id, account.address.lower())
    assert issued.address == account.address  # checksummed
    parsed = siwe.parse(issued.message)
    assert parsed.domain == "agreemint.local" and parsed.uri == "https://agreemint.local/wallet"
    assert parsed.chain_id == LOCAL_CHAIN_ID and parsed.nonce == issued.nonce
    assert parsed.issued_at == clock.now and parsed.expiration_time == issued.expires_at
    assert (issued.expires_at - clock.now).total_seconds() == 900
    assert str(ann.telegram_id) in (parsed.statement or "")
    clock.advance(60)
    linked = await wallets.submit(ann.id, sign(issued.message, account))
    assert (linked.address, linked.previous, linked.linked_at) == (account.address, None, clock.now)
    status = await wallets.status(ann.id)
    assert (status.address, status.linked_at) == (account.address, clock.now)
    [entry] = await audit_of(services, "wallet.linked")
    assert entry == {"address": account.address, "previous": None, "nonce": issued.nonce}


@pytest.mark.parametrize("form", ["bare", "pair", "json", "json_msg", "message_then_sig"])
async def test_paste_formats_link(services: Services, form: str) -> None:
    [ann] = await make_workers(services, 1)
    account = Account.create()
    issued = await services.wallets.issue_challenge(ann.id, account.address)
    sig = sign(issued.message, account)
    paste = {
        "bare": sig,
        "pair": f"{account.address.lower()}\n{sig}",
        "json": json.dumps({"address": account.address, "signature": sig}),
        "json_msg": json.dumps({"address": account.address, "msg": issued.message, "sig": sig,
                                "version": "2"}),
        "message_then_sig": f"{issued.message}\n\n{sig}",
    }[form]
    assert (await services.wallets.submit(ann.id, paste)).address == account.address


async def test_relink_needs_a_new_signed_message_and_is_audited(services: Services) -> None:
    wallets = services.wallets
    [ann] = await make_workers(services, 1)
    first, second = Account.create(), Account.create()
    issued = await wallets.issue_challenge(ann.id, first.address)
    await wallets.submit(ann.id, sign(issued.message, first))
    with pytest.raises(AlreadyLinked):
        await wallets.issue_challenge(ann.id, first.address)
    # The old signature cannot be replayed for anything.
    with pytest.raises(ChallengeUsed):
        await wallets.submit(ann.id, sign(issued.message, first))
    issued2 = await wallets.issue_challenge(ann.id, second.address)
    assert issued2.nonce != issued.nonce
    relinked = await wallets.submit(ann.id, f"{issued2.message}\n{sign(issued2.message, second)}")
    assert (relinked.address, relinked.previous) == (second.address, first.address)
    assert (await wallets.status(ann.id)).address == second.address
    [entry] = await audit_of(services, "wallet.relinked")
    assert entry == {"address": second.address, "previous": first.address,
                     "nonce": issued2.nonce}
    # The first wallet is free again for someone else.
    [_, bob] = await make_workers(services, 2, start=2000)
    issued3 = await wallets.issue_challenge(bob.id, first.address)
    assert (await wallets.submit(bob.id, sign(issued3.message, first))).address == first.address


async def expect_refused(services: Services, error: type[WalletError], call: Any) -> None:
    before = await state(services)
    with pytest.raises(error):
        await call
    assert await state(services) == before


async def test_refusals_change_nothing(services: Services, clock: Clock) -> None:
    wallets = services.wallets
    ann, bob = await make_workers(services, 2)
    account, other = Account.create(), Account.create()
    await expect_refused(services, NoChallenge, wallets.submit(ann.id, "0x" + "11" * 64 + "1b"))
    await expect_refused(services, MalformedAddress, wallets.issue_challenge(ann.id, "0x1234"))
    await expect_refused(services, MalformedAddress,
                         wallets.issue_challenge(ann.id, "0x" + account.address[2:].swapcase()))
    issued = await wallets.issue_challenge(ann.id, account.address)
    good = sign(issued.message, account)
    # wrong signature: another key, an edited message, garbage that recovers to nobody
    await expect_refused(services, WrongSignature,
                         wallets.submit(ann.id, sign(issued.message, other)))
    await expect_refused(services, WrongSignature,
                         wallets.submit(ann.id, sign(issued.message + " ", account)))
    await expect_refused(services, WrongSignature, wallets.submit(ann.id, "0x" + "00" * 65))
    await expect_refused(services, UnreadableReply, wallets.submit(ann.id, "hello"))
    await expect_refused(services, AddressMismatch,
                         wallets.submit(ann.id, f"{other.address} {good}"))
    # another user's message: Bob sends Ann's message and her valid signature
    await expect_refused(services, ForeignChallenge,
                         wallets.submit(bob.id, f"{issued.message}\n{good}"))
    forged = issued.message.replace(issued.nonce, "NotOurNonce1234")
    await expect_refused(services, UnknownChallenge,
                         wallets.submit(ann.id, f"{forged}\n{sign(forged, account)}"))
    # expired
    clock.advance(900)
    await expect_refused(services, ChallengeExpired, wallets.submit(ann.id, good))


async def test_reused_nonce_and_superseded_message(services: Services) -> None:
    wallets = services.wallets
    [ann] = await make_workers(services, 1)
    account = Account.create()
    old = await wallets.issue_challenge(ann.id, account.address)
    new = await wallets.issue_challenge(ann.id, account.address)
    await expect_refused(services, ChallengeUsed,
                         wallets.submit(ann.id, f"{old.message}\n{sign(old.message, account)}"))
    await wallets.submit(ann.id, sign(new.message, account))
    await expect_refused(services, ChallengeUsed,
                         wallets.submit(ann.id, f"{new.message}\n{sign(new.message, account)}"))


async def test_one_worker_per_address(services: Services) -> None:
    wallets = services.wallets
    ann, bob = await make_workers(services, 2)
    account = Account.create()
    # Both got a message for the same address before either signed.
    ann_msg = await wallets.issue_challenge(ann.id, account.address)
    bob_msg = await wallets.issue_challenge(bob.id, account.address)
    await wallets.submit(ann.id, sign(ann_msg.message, account))
    await expect_refused(services, AddressTaken,
                         wallets.submit(bob.id, sign(bob_msg.message, account)))
    await expect_refused(services, AddressTaken, wallets.issue_challenge(bob.id, account.address))


async def test_racing_replies_link_once(services: Services) -> None:
    """The same signed message sent twice at once: one link, one 'already used'."""
    wallets = services.wallets
    [ann] = await make_workers(services, 1)
    account = Account.create()
    issued = await wallets.issue_challenge(ann.id, account.address)
    reply = f"{issued.message}\n{sign(issued.message, account)}"
    results = await asyncio.gather(wallets.submit(ann.id, reply), wallets.submit(ann.id, reply),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ChallengeUsed", "LinkedWallet"]
    assert len(await audit_of(services, "wallet.linked")) == 1


async def test_racing_workers_for_one_address(services: Services) -> None:
    wallets = services.wallets
    ann, bob = await make_workers(services, 2)
    account = Account.create()
    ann_msg = await wallets.issue_challenge(ann.id, account.address)
    bob_msg = await wallets.issue_challenge(bob.id, account.address)
    results = await asyncio.gather(
        wallets.submit(ann.id, sign(ann_msg.message, account)),
        wallets.submit(bob.id, sign(bob_msg.message, account)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["AddressTaken", "LinkedWallet"]


async def test_settings_changed_since_issue(services: Services, clock: Clock) -> None:
    """A message for another domain or chain (the operator changed settings) is refused."""
    [ann] = await make_workers(services, 1)
    account = Account.create()
    issued = await services.wallets.issue_challenge(ann.id, account.address)
    moved = WalletService(services.sessionmaker, services.wallets._settings, 8453, clock)
    await expect_refused(services, ChallengeExpired,
                         moved.submit(ann.id, sign(issued.message, account)))

