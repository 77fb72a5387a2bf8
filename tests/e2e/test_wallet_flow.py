"""Linking a wallet through the real bot over HTTP: /wallet, sign, paste back, and refusals."""

from __future__ import annotations

import asyncio
import json

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import select

from agreemint.sandbox import ChatMessage
from agreemint.store.models import AuditEntry, WalletChallenge, Worker
from bot import texts, wallet_texts
from tests.conftest import Clock
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, start

BOB = 502


def sign(text: str, account: LocalAccount) -> str:
    return Account.sign_message(encode_defunct(text=text), account.key).signature.to_0x_hex()


def pre_block(message: ChatMessage) -> str:
    """The text of the message's one <pre> block."""
    [text] = message.entity_texts("pre")
    return text


async def say(h: Harness, user: int, text: str) -> ChatMessage:
    """Send `text` and return the bot's reply to it."""
    before = len(await h.tg.messages(user))
    await h.tg.send_text(user, text)
    return (await h.tg.wait_for(user, before + 1))[-1]


async def wallets(h: Harness) -> dict[int, str | None]:
    async with h.services.sessionmaker() as s:
        return {w.telegram_id: w.wallet_address for w in await s.scalars(select(Worker))}


async def test_link_by_asking_for_the_address(harness: Harness) -> None:
    h, account = harness, Account.create()
    await start(h)
    ask = await say(h, ANN, "/wallet")
    assert "Send me its address" in ask.content and "wait as verified" in ask.content
    shown = await say(h, ANN, account.address.lower())
    text = pre_block(shown)
    async with h.services.sessionmaker() as s:
        stored = await s.scalar(select(WalletChallenge.message))
    assert text == stored  # what the worker copies is exactly what is verified
    assert text.startswith("agreemint.local wants you to sign in with your Ethereum account:\n"
                           + account.address)
    assert "Chain ID: 31337" in text and "Expiration Time: " in text
    done = await say(h, ANN, sign(text, account))
    assert "Wallet linked" in done.content and account.address in done.content
    assert "earned before linking" in done.content
    assert await wallets(h) == {ANN: account.address}
    status = await say(h, ANN, "/wallet")
    assert account.address in status.content and "/wallet 0xNEW_ADDRESS" in status.content


async def test_command_with_address_then_message_and_signature(harness: Harness) -> None:
    h, account = harness, Account.create()
    await start(h)
    text = pre_block(await say(h, ANN, f"/wallet {account.address}"))
    reply = await say(h, ANN, f"{text}\n\nSignature: {sign(text, account)}")
    assert "Wallet linked" in reply.content
    # Relinking: a new signed message for the new address; recorded in the audit log.
    second = Account.create()
    text2 = pre_block(await say(h, ANN, f"/wallet {second.address}"))
    sig = sign(text2, second)
    changed = await say(h, ANN, json.dumps({"address": second.address, "msg": text2, "sig": sig}))
    assert "Wallet changed" in changed.content
    assert second.address in changed.content and account.address in changed.content
    async with h.services.sessionmaker() as s:
        actions = list(await s.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("wallet.%"))
            .order_by(AuditEntry.id)))
    assert actions == ["wallet.linked", "wallet.relinked"]


async def test_refusals_in_chat(harness: Harness, clock: Clock) -> None:
    h, account, other = harness, Account.create(), Account.create()
    await start(h)
    await start(h, BOB, "Bob")
    bad = await say(h, ANN, "/wallet 0x1234")
    assert "not a valid Ethereum address" in bad.content
    taken_later = Account.create()
    text = pre_block(await say(h, ANN, f"/wallet {account.address}"))
    wrong = await say(h, ANN, sign(text, other))
    assert "does not match the message" in wrong.content and account.address in wrong.content
    # Bob pastes Ann's message with her valid signature.
    foreign = await say(h, BOB, f"{text}\n{sign(text, account)}")
    assert "issued to someone else" in foreign.content
    clock.advance(h.services.wallets._settings.challenge_ttl_seconds)
    expired = await say(h, ANN, sign(text, account))
    assert "expired" in expired.content
    assert await wallets(h) == {ANN: None, BOB: None}
    # A wallet already linked to Bob is refused for Ann.
    bob_text = pre_block(await say(h, BOB, f"/wallet {taken_later.address}"))
    assert "Wallet linked" in (await say(h, BOB, sign(bob_text, taken_later))).content
    taken = await say(h, ANN, f"/wallet {taken_later.address}")
    assert "already linked to another account" in taken.content
    used = await say(h, BOB, f"{bob_text}\n{sign(bob_text, taken_later)}")
    assert "already been used" in used.content
    assert await wallets(h) == {ANN: None, BOB: taken_later.address}


async def test_prompts_explain_once_then_fall_back(harness: Harness) -> None:
    h = harness
    await start(h)
    await say(h, ANN, "/wallet")
    assert "not a valid Ethereum address" in (await say(h, ANN, "my wallet")).content
    assert texts.USE_BUTTONS[:20] in (await say(h, ANN, "my wallet")).content
    await say(h, ANN, f"/wallet {Account.create().address}")
    assert (await say(h, ANN, "dog")).content == wallet_texts.NOT_A_SIGNATURE
    assert texts.USE_BUTTONS[:20] in (await say(h, ANN, "dog")).content


async def test_duplicate_update_links_once_and_replies_once(harness: Harness) -> None:
    h, account = harness, Account.create()
    await start(h)
    text = pre_block(await say(h, ANN, f"/wallet {account.address}"))
    await say(h, ANN, sign(text, account))
    count = len(await h.tg.messages(ANN))
    await h.tg.duplicate_last_update(ANN)
    await asyncio.sleep(0.3)  # give the bot time to (not) answer
    assert len(await h.tg.messages(ANN)) == count
    assert await wallets(h) == {ANN: account.address}
