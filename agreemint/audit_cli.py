"""`agreemint audit ...` and `agreemint verify-label`: check the audit chain and label proofs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

audit_app = typer.Typer(help="The hash-chained audit log: verify it, export a campaign's trail.",
                        no_args_is_help=True)


@audit_app.command("verify")
def verify_cmd() -> None:
    """Check every link of the audit chain; exit 1 at the first broken one."""
    from agreemint.config import get_settings
    from agreemint.services.audit_trail import render, verify_chain
    from agreemint.store.engine import create_engine, create_sessionmaker

    async def run() -> bool:
        engine = create_engine(get_settings().database_url())
        try:
            report = await verify_chain(create_sessionmaker(engine))
        finally:
            await engine.dispose()
        typer.echo(render(report))
        return report.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)


@audit_app.command("export")
def export_cmd(
    campaign_id: int = typer.Argument(..., help="Campaign id."),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="JSONL file to write."),
) -> None:
    """Write every audit entry concerning a campaign, with its hash and prev_hash, as JSONL."""
    from agreemint.config import get_settings
    from agreemint.services.audit_trail import export_campaign_trail
    from agreemint.store.engine import create_engine, create_sessionmaker
    from agreemint.store.models import Campaign

    async def run() -> int | None:
        engine = create_engine(get_settings().database_url())
        try:
            sm = create_sessionmaker(engine)
            async with sm() as s:
                if await s.get(Campaign, campaign_id) is None:
                    return None
            return await export_campaign_trail(sm, campaign_id, out)
        finally:
            await engine.dispose()

    written = asyncio.run(run())
    if written is None:
        typer.echo(f"campaign {campaign_id} does not exist", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {written} audit entries of campaign {campaign_id} to {out}")


def verify_label_cmd(
    campaign_id: int = typer.Argument(..., help="Campaign id."),
    item: str = typer.Argument(..., help="The item's external id (as in the imported file)."),
    label: str | None = typer.Option(None, "--label",
                                     help="The label to prove (default: the stored one)."),
) -> None:
    """Prove that an item's label is in the Merkle root anchored on-chain by its paid batch."""
    from agreemint.chain.context import open_chain
    from agreemint.config import get_settings
    from agreemint.services.label_proof import prove_label, render
    from agreemint.store.engine import create_engine, create_sessionmaker

    settings = get_settings()

    async def run() -> bool:
        engine = create_engine(settings.database_url())
        try:
            async with open_chain(settings) as chain:
                report = await prove_label(create_sessionmaker(engine), chain, campaign_id,
                                           item, label)
        finally:
            await engine.dispose()
        typer.echo(render(report))
        return report.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)
