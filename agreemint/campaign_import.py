"""The CLI's campaign import: parse, validate, store (nothing is stored on any error)."""

from __future__ import annotations

from pathlib import Path

import typer

from agreemint.config import Settings
from agreemint.errors import InvalidInput
from agreemint.runtime import open_services
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import parse_items


async def import_campaign(
    settings: Settings, file: Path, name: str, labels: str, instructions: str, overlap: int,
    rate: float,
) -> tuple[int, int]:
    """Returns (campaign id, item count); exits with the problems listed on bad input."""
    options = tuple(label.strip() for label in labels.split(",") if label.strip())
    spec = CampaignSpec(name=name, instructions=instructions, options=options, overlap=overlap,
                        reward_rate_micro=round(rate * 1_000_000))
    try:
        spec.check()
        items = parse_items(file, options)
        async with open_services(settings) as services:
            return await services.campaigns.create(spec, items), len(items)
    except InvalidInput as exc:
        typer.echo(exc.user_message, err=True)
        raise typer.Exit(1) from exc
