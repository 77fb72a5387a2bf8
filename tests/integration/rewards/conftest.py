"""Rewards and settlement on a real anvil node and both database backends.

One anvil for the session; fresh contracts per test (about 0.2 s), so tests share nothing but the
node's clock. `rig` is the app as the scheduler sees it: services over the test database with the
settlement service bound to the chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agreemint.chain.anvil import ANVIL_DEV_KEY
from agreemint.chain.context import ChainContext, make_sender, make_web3
from agreemint.chain.deploy import deploy_all
from agreemint.config import Settings
from agreemint.runtime import Services, build_services
from agreemint.services.settlement import SettlementService
from agreemint.store.engine import create_engine, create_sessionmaker
from tests.chain_support import chain_settings
from tests.conftest import Clock, quiet_trust


async def connect(url: str, deployment: Any, **overrides: Any) -> ChainContext:
    """A client of `deployment` at `url` signing with the dev key (settler, manager)."""
    cfg = chain_settings(**overrides)
    w3 = make_web3(url, cfg)
    return ChainContext.bind(make_sender(w3, ANVIL_DEV_KEY, cfg), deployment, cfg)


@pytest.fixture
async def chain(anvil_url: str) -> AsyncIterator[ChainContext]:
    cfg = chain_settings()
    w3 = make_web3(anvil_url, cfg)
    sender = make_sender(w3, ANVIL_DEV_KEY, cfg)
    context = ChainContext.bind(sender, await deploy_all(sender, cfg), cfg)
    yield context
    await w3.provider.disconnect()


@dataclass
class Rig:
    services: Services
    chain: ChainContext
    settings: Settings
    db_url: str
    anvil_url: str

    @property
    def settlement(self) -> SettlementService:
        assert self.services.settlement is not None
        return self.services.settlement


@pytest.fixture
async def rig(
    db_url: str, chain: ChainContext, anvil_url: str, tmp_path: Path, clock: Clock
) -> AsyncIterator[Rig]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, chain=chain.sender.settings, trust=quiet_trust()
    )
    settings.tasks.gold_rate = 0.0
    engine = create_engine(db_url)
    curve = await chain.vault.quality_curve()
    services = build_services(create_sessionmaker(engine), settings, clock, chain, curve)
    try:
        yield Rig(services, chain, settings, db_url, anvil_url)
    finally:
        await engine.dispose()
