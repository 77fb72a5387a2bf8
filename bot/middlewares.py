"""Outer middlewares: drop repeated updates, and know which worker sent each event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from agreemint.errors import AgreemintError
from agreemint.services.roles import RoleService
from agreemint.services.workers import WorkerService

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DeduplicateUpdates(BaseMiddleware):
    """Telegram delivers at least once: an update id is handled by one claim only.

    The claim is taken before the handler runs (a redelivery racing the first run is dropped)
    and given back if the handler fails unexpectedly, so a redelivery can try again; the
    services' own unique keys make any second run harmless.
    """

    def __init__(self, workers: WorkerService) -> None:
        self._workers = workers

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if not await self._workers.claim_update(event.update_id):
            return None
        try:
            result = await handler(event, data)
        except AgreemintError:
            await self._workers.finish_update(event.update_id)
            raise
        except Exception:
            await self._workers.release_update(event.update_id)
            raise
        await self._workers.finish_update(event.update_id)
        return result


class RegisterWorker(BaseMiddleware):
    """Adds `worker` (a WorkerView) and its effective `role` to handler data for every event
    from a person (one query per update)."""

    def __init__(self, workers: WorkerService, roles: RoleService) -> None:
        self._workers = workers
        self._roles = roles

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None
        worker = await self._workers.register(
            user.id, user.first_name, user.username, user.language_code
        )
        data["worker"] = worker
        data["role"] = self._roles.effective(user.id, worker.role)
        return await handler(event, data)
