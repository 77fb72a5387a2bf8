"""The `agreemint` command: run, demo, sandbox, db ..., campaign ..., chain ..."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from agreemint.audit_cli import audit_app, verify_label_cmd
from agreemint.campaign_cli import campaign_app
from agreemint.chain.cli import chain_app
from agreemint.config import get_settings

app = typer.Typer(help="agreemint: pay crowd workers in tokens for labels that pass consensus.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(campaign_app, name="campaign")

app.add_typer(chain_app, name="chain")
app.add_typer(audit_app, name="audit")
app.command("verify-label")(verify_label_cmd)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    # Never let HTTP client logs print request URLs: aiogram's URLs contain the bot token.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Every job run is logged at INFO by APScheduler; our jobs log what they did themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


@app.command()
def run() -> None:
    """Run the bot and the scheduler (polling or webhook, from settings)."""
    settings = get_settings()
    if settings.bot.token is None:
        typer.echo(
            "BOT__TOKEN is not set. Put the token from @BotFather in the environment or in .env "
            "(see .env.example), or try everything locally first with `agreemint demo`.",
            err=True,
        )
        raise typer.Exit(2)
    _logging(settings.log_level)
    from agreemint.serve import serve

    asyncio.run(serve(settings))


@app.command()
def demo(
    workers: int = typer.Option(6, min=1, max=50, help="Simulated workers."),
    items: int = typer.Option(48, min=1, help="Items from the bundled sample campaign."),
    seed: int = typer.Option(7, help="Seed for the simulated workers' choices."),
    overlap: int = typer.Option(5, min=1, max=20, help="Answers per item (at least)."),
    max_overlap: int | None = typer.Option(
        None, min=1, max=20,
        help="Dynamic overlap: items the consensus is unsure of get answers up to this."),
    json_out: bool = typer.Option(False, "--json", help="End with one JSON line of the figures."),
    data_dir: Path | None = typer.Option(None, help="Keep the demo database here."),
) -> None:
    """Run the whole loop locally: fake Telegram, the real bot, simulated workers, rounds."""
    from agreemint.demo.run import DemoOptions, run_demo

    options = DemoOptions(workers=workers, items=items, seed=seed, overlap=overlap,
                          max_overlap=max_overlap,
                          json_out=json_out, data_dir=data_dir)
    raise typer.Exit(asyncio.run(run_demo(options)))


@app.command()
def sandbox(
    port: int = typer.Option(8081, help="Port on 127.0.0.1 (0 picks a free one)."),
    token: str = typer.Option("", help="The bot token the fake server accepts."),
) -> None:
    """Run the fake Telegram Bot API server (point BOT__API_BASE at the URL it prints)."""
    from agreemint.sandbox.__main__ import main

    main(["--port", str(port)] + (["--token", token] if token else []))


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from agreemint.store import migrate

    url = get_settings().database_url()
    asyncio.run(migrate.upgrade(url, revision))
    typer.echo(f"database is at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` empties the database)."""
    from agreemint.store import migrate

    asyncio.run(migrate.downgrade(get_settings().database_url(), revision))
    typer.echo(f"database is at {revision}")


if __name__ == "__main__":  # pragma: no cover
    app()
