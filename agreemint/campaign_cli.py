"""`agreemint campaign ...`: campaigns from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from agreemint.campaign_import import import_campaign
from agreemint.config import get_settings

campaign_app = typer.Typer(help="Campaigns: import items, export labels.", no_args_is_help=True)


@campaign_app.command("import")
def campaign_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSONL items."),
    name: str = typer.Option(..., help="Campaign name shown to workers."),
    labels: str = typer.Option(..., help="Comma-separated answer options."),
    instructions: str = typer.Option("", help="One or two sentences shown with every task."),
    overlap: int = typer.Option(3, min=1, max=100, help="Answers per item."),
    rate: float = typer.Option(0.0, min=0.0, help="Tokens per verified label."),
) -> None:
    """Create an active campaign from a CSV (id,text,image,gold) or JSONL file."""
    campaign_id, count = asyncio.run(
        import_campaign(get_settings(), file, name, labels, instructions, overlap, rate)
    )
    typer.echo(f"campaign {campaign_id} created with {count} items")
