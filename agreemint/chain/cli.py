"""`agreemint chain ...`: compile the contracts, deploy them, measure their gas, reconcile."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

chain_app = typer.Typer(help="Contracts and the chain: compile, deploy, gas report, reconcile.")


@chain_app.command("compile")
def compile_cmd(
    check: bool = typer.Option(False, "--check", help="Fail if contracts/build/ differs instead."),
) -> None:
    """Regenerate contracts/build/ (ABI, bytecode, compiler version, source hash) with solc-js."""
    from agreemint.chain.compiler import build_artifacts, drift, write_artifacts

    artifacts = build_artifacts()
    if check:
        changed = drift(artifacts)
        if changed:
            typer.echo("contracts/build/ is stale: " + ", ".join(changed), err=True)
            raise typer.Exit(1)
        typer.echo("contracts/build/ is up to date")
        return
    for path in write_artifacts(artifacts):
        typer.echo(f"wrote {path}")


@chain_app.command("deploy")
def deploy_cmd(
    out: Path | None = typer.Option(None, help="Deployment file (default: the configured one)."),
) -> None:
    """Deploy timelock, LabelToken and RewardVault to CHAIN__RPC_URL; write the deployment file."""
    from agreemint.chain.context import deployment_path, make_sender, make_web3
    from agreemint.chain.deploy import deploy_all
    from agreemint.config import get_settings

    settings = get_settings()
    cfg = settings.chain
    if not cfg.rpc_url:
        typer.echo(
            "CHAIN__RPC_URL is empty: the embedded node deploys by itself at startup.", err=True
        )
        raise typer.Exit(2)
    if cfg.signer_key is None:
        typer.echo("CHAIN__SIGNER_KEY is required to deploy.", err=True)
        raise typer.Exit(2)
    path = out or deployment_path(settings)

    async def run() -> None:
        w3 = make_web3(cfg.rpc_url, cfg)
        try:
            sender = make_sender(w3, cfg.signer_key.get_secret_value(), cfg)  # type: ignore[union-attr]
            deployment = await deploy_all(sender, cfg)
        finally:
            await w3.provider.disconnect()
        deployment.save(path)
        typer.echo(
            f"token {deployment.token}\nvault {deployment.vault}\n"
            f"timelock {deployment.timelock}\nwritten to {path}"
        )

    asyncio.run(run())


@chain_app.command("gas-report")
def gas_report_cmd() -> None:
    """Measure settle against the bare batch-mint floor on a fresh anvil; ends with a JSON line."""
    from agreemint.chain.gas_report import measure, render

    typer.echo(render(asyncio.run(measure())))


@chain_app.command("reconcile")
def reconcile_cmd(
    from_block: int | None = typer.Option(
        None, "--from-block", help="First block to scan (default: the deployment's block)."
    ),
) -> None:
    """Compare the ledger's paid entries with the vault's settlements; exit 1 on any difference."""
    from agreemint.chain.context import open_chain
    from agreemint.config import get_settings
    from agreemint.services.reconcile import reconcile, render
    from agreemint.store.engine import create_engine, create_sessionmaker

    settings = get_settings()

    async def run() -> bool:
        engine = create_engine(settings.database_url())
        try:
            async with open_chain(settings) as chain:
                report = await reconcile(create_sessionmaker(engine), chain, from_block)
        finally:
            await engine.dispose()
        typer.echo(render(report, settings.chain.token_symbol))
        return report.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)
