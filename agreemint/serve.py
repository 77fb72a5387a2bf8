"""`agreemint run`: the bot and the scheduler in one process until interrupted."""

from __future__ import annotations

import asyncio
import logging

from agreemint.config import Settings
from agreemint.jobs import build_scheduler
from agreemint.runtime import open_services
from bot.app import build_bot, build_dispatcher, run_polling, start_webhook

log = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Migrate, then run polling or the webhook server with the scheduler beside it."""
    async with open_services(settings) as services:
        bot = build_bot(settings.bot)
        dp = build_dispatcher(services)
        scheduler = build_scheduler(services, settings)
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
