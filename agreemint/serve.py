"""`agreemint run`: the bot, the scheduler and the chain client in one process until interrupted."""

from __future__ import annotations

import asyncio
import logging

from agreemint.chain.context import open_chain
from agreemint.config import Settings
from agreemint.jobs import build_scheduler
from agreemint.runtime import open_services
from bot.app import build_bot, build_dispatcher, run_polling, start_webhook
from bot.broadcaster import run_broadcasts
from bot.notifier import deliver

log = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Migrate, open the chain (the embedded anvil node unless an RPC is configured), then run
    polling or the webhook server with the scheduler beside it."""
    async with open_chain(settings) as chain, open_services(settings, chain=chain) as services:
        bot = build_bot(settings.bot)
        dp = build_dispatcher(services)
        scheduler = build_scheduler(
            services, settings,
            deliver=lambda: deliver(bot, services.notifications),
            broadcasts=lambda: run_broadcasts(bot, services.broadcast),
        )
        scheduler.start()
        try:
            if settings.bot.mode == "webhook":
                runner = await start_webhook(bot, dp, settings.bot)
                try:
                    await asyncio.Event().wait()
                finally:
                    await runner.cleanup()
            else:
                await run_polling(bot, dp)
        finally:
            scheduler.shutdown(wait=False)
            await bot.session.close()
