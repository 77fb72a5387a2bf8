"""Sending queued notifications to workers, within Telegram's limits."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter

from agreemint.services.notifications import NotificationService

log = logging.getLogger(__name__)
# Broadcasts take 25 of Telegram's ~30 messages per second; payout notices share the rest.
PAUSE = 1 / 4


async def deliver(
    bot: Bot, notifications: NotificationService, limit: int = 50, pause: float = PAUSE
) -> int:
    """Send up to `limit` unsent notifications, `pause` seconds apart; returns how many went."""
    sent = 0
    for note in await notifications.unsent(limit):
        try:
            await bot.send_message(note.telegram_id, note.text)
        except TelegramRetryAfter as exc:
            # Stop this run; the rest stays queued for the next one after Telegram's pause.
            await asyncio.sleep(min(exc.retry_after, 30))
            break
        except TelegramForbiddenError as exc:
            await notifications.mark_failed(note.id, exc.message)
            continue
        await notifications.mark_sent(note.id)
        sent += 1
        await asyncio.sleep(pause)
    return sent
