"""Why a wallet could not be linked: each refusal changes nothing and tells the worker what to do.

The messages are sent with HTML parse mode by the bot's error router: no `<`, `>` or `&`.
"""

from __future__ import annotations

from agreemint.errors import AgreemintError

NEW_MESSAGE = "Send /wallet followed by your address for a new message to sign."


class WalletError(AgreemintError):
    """Any refusal to link a wallet."""

    user_message = "The wallet could not be linked. " + NEW_MESSAGE


class MalformedAddress(WalletError):
    user_message = (
        "That is not a valid Ethereum address. An address is 0x followed by 40 hex digits "
        "(0-9, a-f), for example /wallet 0x52908400098527886E0F7030069857D2E4169EE7."
    )


class AddressTaken(WalletError):
    user_message = (
        "This wallet is already linked to another account. Each wallet can belong to one "
        "worker only: please use a different address."
    )


class AlreadyLinked(WalletError):
    user_message = "This wallet is already linked to your account: nothing to change."


class UnreadableReply(WalletError):
    user_message = (
        "I could not read a signature from that. Paste the signature your wallet gave you "
        "(0x followed by 130 hex digits), or the address and the signature together."
    )

    def __init__(self, reason: str | None = None) -> None:
        # The parser's reason (e.g. "the signature has 128 hex digits") helps fix a bad paste.
        super().__init__(f"{self.user_message}\n({reason})" if reason else None)


class NoChallenge(WalletError):
    user_message = "There is no message waiting for your signature. " + NEW_MESSAGE


class UnknownChallenge(WalletError):
    user_message = "This message was not issued by this bot. " + NEW_MESSAGE


class ForeignChallenge(WalletError):
    user_message = (
        "This message was issued to someone else, so it cannot link a wallet to you. "
        + NEW_MESSAGE
    )


class ChallengeUsed(WalletError):
    user_message = (
        "This message has already been used, or a newer one replaced it: each message links "
        "a wallet once. /wallet shows your linked wallet. " + NEW_MESSAGE
    )


class ChallengeExpired(WalletError):
    user_message = "This message has expired. " + NEW_MESSAGE


class AddressMismatch(WalletError):
    user_message = (
        "The address you sent is not the one the message names. Sign the message with the "
        "wallet it names, or send /wallet with the other address for a new message."
    )


class WrongSignature(WalletError):
    user_message = (
        "The signature does not match the message. Sign the exact text of the message, "
        "unchanged, with the wallet it names ({address}), and send the signature again."
    )

    def __init__(self, address: str) -> None:
        super().__init__(self.user_message.format(address=address))
