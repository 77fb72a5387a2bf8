"""Turning a round's decisions into ledger entries: verified (with an amount) or withheld."""

from __future__ import annotations

from agreemint.config import RewardSettings
from agreemint.multiplier import QualityCurve
from agreemint.store.engine import SessionMaker


class RewardService:
    """One ledger entry per answer; amounts follow the contract's quality curve exactly."""

    def __init__(
        self, sessionmaker: SessionMaker, settings: RewardSettings, curve: QualityCurve
    ) -> None:
        self._sm = sessionmaker
        self._settings = settings
        self._curve = curve
