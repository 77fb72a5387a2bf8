"""`agreemint chain deploy` against a configured RPC, then the app opening that deployment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from eth_account import Account
from typer.testing import CliRunner

import agreemint.config
from agreemint.chain.cli import chain_app
from agreemint.chain.context import open_chain
from agreemint.chain.deploy import Deployment
from agreemint.config import Settings


def test_deploy_writes_the_file_the_app_reads(
    anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Account.create().key.to_0x_hex()
    settings = Settings(
        data_dir=tmp_path,
        chain={"rpc_url": anvil_url, "signer_key": key, "poll_interval_seconds": 0.01},
    )
    monkeypatch.setattr(agreemint.config, "get_settings", lambda: settings)

    async def fund() -> None:
        from agreemint.chain.context import make_web3

        w3 = make_web3(anvil_url, settings.chain)
        address = Account.from_key(key).address
        await w3.provider.make_request("anvil_setBalance", [address, hex(10**21)])
        await w3.provider.disconnect()

    asyncio.run(fund())
    result = CliRunner().invoke(chain_app, ["deploy"])
    assert result.exit_code == 0, result.output
    assert key not in result.output and key[2:] not in result.output
    deployment = Deployment.load(tmp_path / "chain-deployment.json")
    assert deployment.deployer == Account.from_key(key).address

    async def use() -> None:
        async with open_chain(settings) as chain:
            assert chain.node is None
            assert chain.deployment == deployment
            assert await chain.token.symbol() == "LBL"
            assert await chain.vault.has_role("SETTLER_ROLE", deployment.deployer)

    asyncio.run(use())


def test_deploy_refuses_without_rpc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agreemint.config, "get_settings", lambda: Settings(data_dir=tmp_path))
    result = CliRunner().invoke(chain_app, ["deploy"])
    assert result.exit_code == 2
