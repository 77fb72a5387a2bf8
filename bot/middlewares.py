"""Outer middlewares: drop repeated updates, and know which worker sent each event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from agreemint.services.workers import WorkerService

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DeduplicateUpdates(BaseMiddleware):
    """Telegram delivers at least once: an update id seen before is not handled again.

    The id is stored after the handler succeeds, so a crash mid-way lets the redelivery run;
    the services' own unique keys make that second run harmless.
    """

    def __init__(self, workers: WorkerService) -> None:
        self._workers = workers

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if await self._workers.seen_update(event.update_id):
            return None
        result = await handler(event, data)
        await self._workers.mark_update(event.update_id)
        return result


class RegisterWorker(BaseMiddleware):
    """Adds `worker` (a WorkerView) to handler data for every event from a person."""

    def __init__(self, workers: WorkerService) -> None:
        self._workers = workers

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        data["worker"] = await self._workers.register(
            user.id, user.first_name, user.username, user.language_code
        )
        return await handler(event, data)
