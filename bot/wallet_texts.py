"""What the bot says while linking a wallet (HTML parse mode; everything inserted is escaped)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from agreemint.services.wallets import Challenge, LinkedWallet, WalletStatus

PAID_LATER = (
    "Rewards you earn before a wallet is linked are not lost: they wait as verified and are "
    "paid to your wallet in the first payout after you link it."
)
ASK_ADDRESS = (
    "🔗 <b>Link your wallet</b>\n\n"
    "Your rewards are paid in tokens to an Ethereum wallet that you own. Send me its "
    "<b>address</b> (0x followed by 40 hex digits), or send /wallet 0xYOUR_ADDRESS.\n\n"
    "I will then give you a short message to sign in your wallet — signing proves the wallet "
    "is yours, costs nothing and sends no transaction.\n\n" + PAID_LATER
)
NOT_A_SIGNATURE = (
    "That does not look like a signature, so I have put wallet linking aside. When you have "
    "signed the message, just paste the signature here; /wallet starts over."
)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _code(address: str) -> str:
    return f"<code>{escape(address)}</code>"


def status(wallet: WalletStatus) -> str:
    """/wallet for a worker who already has a wallet."""
    linked = f" (linked {_when(wallet.linked_at)})" if wallet.linked_at else ""
    return (
        f"👛 <b>Your wallet</b>\n{_code(wallet.address or '')}{linked}\n\n"
        "Your payouts go to this address. To use another wallet, send "
        "/wallet 0xNEW_ADDRESS and sign the new message with that wallet; the change is "
        "recorded, and payouts from then on go to the new address."
    )


def challenge(issued: Challenge) -> str:
    """The message to sign, in a block that copies exactly, and how to send the signature."""
    return (
        f"✍️ <b>Sign this message</b> with the wallet {_code(issued.address)}.\n"
        "Copy it exactly as shown, unchanged, and sign it with your wallet's “Sign message” "
        "feature (personal_sign, as in MetaMask, Rabby or Rainbow):\n\n"
        f"<pre>{escape(issued.message)}</pre>\n\n"
        "Then send me the <b>signature</b> (0x followed by 130 hex digits). Pasting the "
        "address and signature together, your wallet’s JSON, or the message followed by the "
        "signature works too.\n\n"
        f"⏳ The message can be used once and expires at {_when(issued.expires_at)}. "
        "Signing is free and sends no transaction."
    )


def linked(result: LinkedWallet) -> str:
    """Success: the wallet is linked (or replaced the previous one)."""
    if result.previous:
        return (
            f"✅ <b>Wallet changed.</b>\nNew: {_code(result.address)}\n"
            f"Previous: {_code(result.previous)}\n\n"
            "Payouts from now on go to the new address; tokens already paid stay in the "
            "previous wallet."
        )
    return (
        f"✅ <b>Wallet linked:</b> {_code(result.address)}\n\n"
        "Your verified rewards are paid to this address — also those you earned before "
        "linking, in the next payout. /balance shows what is pending, verified and paid."
    )
