"""Pushing queued updates to the bot's webhook, at least once.

One update at a time, in order. A non-2xx answer, a timeout or a refused connection
keeps the update queued and retries after a short backoff, as Telegram does; after
`max_attempts` the update is dropped ("gives up after a reasonable amount of attempts").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .objects import now
from .params import Params, read_webhook_reply
from .state import QueuedUpdate, SandboxState, WebhookConfig

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ReplyRunner = Callable[[str, Params], Awaitable[tuple[int, dict[str, Any]]]]


@dataclass
class WebhookPolicy:
    backoff_initial: float = 0.05  # seconds; short so tests of redelivery stay fast
    backoff_max: float = 1.0
    max_attempts: int = 50
    request_timeout: float = 10.0


class WebhookDeliverer:
    def __init__(
        self,
        state: SandboxState,
        policy: WebhookPolicy | None = None,
        on_reply: ReplyRunner | None = None,
    ) -> None:
        self.state = state
        self.policy = policy or WebhookPolicy()
        self.on_reply = on_reply
        self.deliveries: list[dict[str, object]] = []  # every attempt, for the control API
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _delay(self, attempts: int) -> float:
        return min(self.policy.backoff_max, self.policy.backoff_initial * 2 ** (attempts - 1))

    def _replaced(self, hook: WebhookConfig) -> Callable[[], bool]:
        """Cuts a backoff short when the webhook is changed or deleted."""
        return lambda: self.state.webhook is not hook

    def _ready(self) -> bool:
        return self.state.webhook is not None and bool(self.state.pending)

    async def _run(self) -> None:
        state = self.state
        timeout = aiohttp.ClientTimeout(total=self.policy.request_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            attempts = 0
            while not state.closing:
                if not await state.wait_until(self._ready, 60):
                    continue
                hook, item = state.webhook, state.pending[0]
                assert hook is not None
                try:
                    error = await self._post(session, hook, item)
                except Exception as e:  # never let one odd response end all delivery
                    error = f"Internal sandbox error: {e!r}"
                if not any(u is item for u in state.pending):
                    attempts = 0  # dropped meanwhile (reset, drop_pending_updates)
                    continue
                if error is None:
                    item.served = True
                    state.pending = [u for u in state.pending if u is not item]
                    state.changed()
                    attempts = 0
                    continue
                hook.last_error_date, hook.last_error_message = now(), error
                attempts += 1
                if attempts >= self.policy.max_attempts:
                    state.pending = [u for u in state.pending if u is not item]
                    state.changed()
                    attempts = 0
                    continue
                await state.wait_until(self._replaced(hook), self._delay(attempts))

    async def _post(
        self, session: aiohttp.ClientSession, hook: WebhookConfig, item: QueuedUpdate
    ) -> str | None:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        record: dict[str, object] = {"update_id": item.update_id, "url": hook.url}
        try:
            return await self._send(session, hook, item, headers, record)
        finally:
            self.deliveries.append(record)
            self.state.changed()

    async def _send(
        self,
        session: aiohttp.ClientSession,
        hook: WebhookConfig,
        item: QueuedUpdate,
        headers: dict[str, str],
        record: dict[str, object],
    ) -> str | None:
        try:
            async with session.post(hook.url, data=json.dumps(item.payload), headers=headers) as r:
                body = await r.read()
                record["status"] = r.status
                if 200 <= r.status < 300:
                    await self._run_reply(r.headers.get("Content-Type", ""), body, record)
                    return None
                return f"Wrong response from the webhook: {r.status} {r.reason}"
        except TimeoutError:
            record["error"] = "timeout"
            return "Read timeout expired"
        except aiohttp.ClientError as e:
            record["error"] = str(e)
            return "Connection refused"

    async def _run_reply(self, content_type: str, body: bytes, record: dict[str, object]) -> None:
        """Executes a method the bot returned in its webhook answer (aiogram does this when
        a handler returns a method and handle_in_background is off)."""
        try:
            reply = read_webhook_reply(content_type, body)
        except Exception as e:  # a malformed reply is the bot's bug; delivery still succeeded
            record["reply"] = {"error": repr(e)}
            return
        if reply is None or self.on_reply is None:
            return
        method, params = reply
        status, _ = await self.on_reply(method, params)
        record["reply"] = {"method": method, "status": status}
