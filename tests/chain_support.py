"""Shared pieces for tests on a real anvil node: fast-polling chain settings and the node."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agreemint.chain.anvil import AnvilNode
from agreemint.chain.paths import ANVIL_BINARY
from agreemint.chain.settings import ChainSettings

TIMELOCK_DELAY = 3_600


def chain_settings(**overrides: Any) -> ChainSettings:
    """Chain settings that poll fast, with a short governance delay."""
    base: dict[str, Any] = {
        "timelock_delay_seconds": TIMELOCK_DELAY,
        "poll_interval_seconds": 0.01,
        "request_timeout_seconds": 20,
        "receipt_timeout_seconds": 30,
    }
    return ChainSettings(**{**base, **overrides})


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """One anvil node for the session (binary from node_modules)."""
    if not ANVIL_BINARY.exists():
        pytest.skip("anvil is not installed: run `make node` (npm ci)")
    with AnvilNode() as node:
        yield node.url
