"""Linking a worker's Ethereum wallet by a signed Sign-In with Ethereum (EIP-4361) message."""

from __future__ import annotations

from agreemint.config import WalletSettings
from agreemint.services.tasks import Clock
from agreemint.store.engine import SessionMaker
from agreemint.store.types import utcnow


class WalletService:
    """Issues single-use SIWE challenges and links the address whose signature verifies."""

    def __init__(
        self, sessionmaker: SessionMaker, settings: WalletSettings, chain_id: int,
        clock: Clock = utcnow,
    ) -> None:
        self._sm = sessionmaker
        self._settings = settings
        self._chain_id = chain_id
        self._now = clock
