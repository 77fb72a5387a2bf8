"""Paying verified rewards on-chain in batches that survive any crash and are never paid twice."""

from __future__ import annotations

from agreemint.chain.context import ChainContext
from agreemint.config import RewardSettings
from agreemint.store.engine import SessionMaker


class SettlementService:
    """Plans batches (rows first), sends `settle`, and marks entries paid from receipts."""

    def __init__(
        self, sessionmaker: SessionMaker, chain: ChainContext, settings: RewardSettings
    ) -> None:
        self._sm = sessionmaker
        self._chain = chain
        self._settings = settings
