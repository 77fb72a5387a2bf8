"""SandboxClient: drive a FakeBotAPI over its control API, as simulated users.

    async with SandboxClient(api.base_url) as tg:
        await tg.create_user(7, "Ann")
        await tg.send_text(7, "/start")
        msgs = await tg.wait_for(7, 1)
        await tg.press(7, "Next task")
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp

from .models import Button, ChatMessage, SandboxError

__all__ = ["Button", "ChatMessage", "SandboxClient", "SandboxError"]


Condition = Callable[[list[ChatMessage]], bool] | int


class SandboxClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def _request(
        self,
        verb: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
            self._own_session = True
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        url = f"{self.base_url}/_sandbox{path}"
        async with self._session.request(verb, url, json=body, params=params) as response:
            if response.content_type == "application/octet-stream":
                return await response.read()
            data = await response.json()
            if response.status >= 400:
                raise SandboxError(str(data.get("error", data)), response.status)
            return data

    # -- users ----------------------------------------------------------------------

    async def create_user(
        self,
        user_id: int,
        first_name: str = "",
        username: str | None = None,
        language_code: str = "en",
        last_name: str | None = None,
        *,
        started: bool = False,
    ) -> dict[str, Any]:
        """Creates (or updates) a user and their private chat (chat id == user id). The bot
        may write first only to users who have written to it (or `started=True`), as in
        Telegram; otherwise it gets 403 "bot can't initiate conversation with a user"."""
        body = {
            "user_id": user_id,
            "first_name": first_name or f"User{user_id}",
            "username": username,
            "language_code": language_code,
            "last_name": last_name,
            "started": started,
        }
        return dict(await self._request("POST", "/users", body))

    async def send_text(self, user_id: int, text: str) -> int:
        """The user writes `text` (commands get a bot_command entity); returns update_id."""
        data = await self._request("POST", f"/users/{user_id}/messages", {"text": text})
        return int(data["update_id"])

    async def send_photo(
        self,
        user_id: int,
        data: bytes | None = None,
        *,
        file_id: str | None = None,
        caption: str | None = None,
    ) -> int:
        body = {
            "data": base64.b64encode(data).decode() if data is not None else None,
            "file_id": file_id,
            "caption": caption,
        }
        result = await self._request("POST", f"/users/{user_id}/photos", body)
        return int(result["update_id"])

    async def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        """The user sends a file as a document; returns the update id."""
        body = {
            "data": base64.b64encode(data).decode(),
            "file_name": file_name,
            "mime_type": mime_type,
            "caption": caption,
        }
        result = await self._request("POST", f"/users/{user_id}/documents", body)
        return int(result["update_id"])

    async def tap(
        self, user_id: int, message_id: int, callback_data: str, *, force: bool = False
    ) -> int:
        """Taps the inline button with `callback_data` on a message; raises SandboxError if
        it is not there now, unless force (forged or stale data)."""
        body = {"message_id": message_id, "callback_data": callback_data, "force": force}
        return int((await self._request("POST", f"/users/{user_id}/tap", body))["update_id"])

    async def press(self, user_id: int, button_text: str) -> int:
        """Presses the newest inline button labelled `button_text` (or a reply-keyboard key)."""
        data = await self._request("POST", f"/users/{user_id}/press", {"text": button_text})
        return int(data["update_id"])

    async def block_bot(self, user_id: int) -> None:
        await self._request("POST", f"/users/{user_id}/block")

    async def unblock_bot(self, user_id: int) -> None:
        await self._request("POST", f"/users/{user_id}/unblock")

    async def duplicate_last_update(self, user_id: int) -> int:
        """Telegram delivers the user's newest update again (same update_id)."""
        data = await self._request("POST", f"/users/{user_id}/duplicate_last_update")
        return int(data["update_id"])

    async def redeliver(self, update_id: int) -> None:
        await self._request("POST", f"/updates/{update_id}/redeliver")

    # -- what users see -------------------------------------------------------------

    async def chat(
        self,
        chat_id: int,
        *,
        include_user: bool = False,
        since_version: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - server-side wait, not a client timer
    ) -> dict[str, Any]:
        """The raw chat view; with since_version the server waits up to `timeout` for a
        newer version."""
        query = {
            "include_user": "1" if include_user else None,
            "since_version": since_version,
            "timeout": timeout,
        }
        return dict(await self._request("GET", f"/chats/{chat_id}", query=query))

    async def messages(self, chat_id: int, *, include_user: bool = False) -> list[ChatMessage]:
        """The bot's messages in the chat as they look now (deleted ones gone); the user's
        own messages too with include_user."""
        view = await self.chat(chat_id, include_user=include_user)
        return [ChatMessage.from_json(m) for m in view["messages"]]

    async def last_message(self, chat_id: int) -> ChatMessage | None:
        found = await self.messages(chat_id)
        return found[-1] if found else None

    async def reply_keyboard(self, chat_id: int) -> list[list[str]]:
        return list((await self.chat(chat_id))["reply_keyboard"])

    async def wait_for(
        self,
        chat_id: int,
        condition: Condition,
        timeout: float = 5.0,  # noqa: ASYNC109 - bounds the server-side waits
        *,
        include_user: bool = False,
    ) -> list[ChatMessage]:
        """Waits until the chat's messages satisfy `condition` — a predicate over the list,
        or an int: at least that many messages. The server holds each request until the
        chat changes, so this does not spin. Raises TimeoutError with what the chat shows."""
        check = condition if callable(condition) else (lambda msgs: len(msgs) >= condition)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        version: int | None = None
        while True:
            remaining = deadline - loop.time()
            view = await self.chat(
                chat_id,
                include_user=include_user,
                since_version=version,
                timeout=max(0.0, remaining) if version is not None else None,
            )
            found = [ChatMessage.from_json(m) for m in view["messages"]]
            if check(found):
                return found
            if remaining <= 0:
                shown = [(m.message_id, m.content[:60], m.button_texts) for m in found[-5:]]
                raise TimeoutError(f"chat {chat_id}: not satisfied in {timeout}s; last: {shown}")
            version = int(view["version"])

    async def callback_answers(self, user_id: int) -> list[dict[str, Any]]:
        """The user's callback queries with the bot's answers (text, show_alert, answered)."""
        return list(await self._request("GET", f"/users/{user_id}/callback_answers"))

    async def download(self, file_id: str) -> bytes:
        return bytes(await self._request("GET", f"/files/{file_id}"))

    async def upload_file(
        self, data: bytes, kind: str = "photo", file_name: str | None = None
    ) -> str:
        """Registers a file the bot may then send by file_id; returns the file_id."""
        body = {"data": base64.b64encode(data).decode(), "kind": kind, "file_name": file_name}
        return str((await self._request("POST", "/files", body))["file_id"])

    # -- the bot's side -------------------------------------------------------------

    async def calls(self, method: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        """Every Bot API call so far (seq, method, params, ok, result, error_code, ...)."""
        return list(await self._request("GET", "/calls", query={"method": method, "since": since}))

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - server-side wait
    ) -> list[dict[str, Any]]:
        """Waits until the bot has made `count` calls of `method`."""
        query = {"method": method, "count": count, "timeout": timeout}
        found = await self._request("GET", "/calls", query=query)
        if len(found) < count:
            raise TimeoutError(f"{len(found)} {method} calls after {timeout}s, wanted {count}")
        return list(found)

    async def pending_updates(self) -> list[dict[str, Any]]:
        return list((await self._request("GET", "/updates"))["pending"])

    async def webhook_info(self) -> dict[str, Any]:
        """url, secret_token, pending_update_count, last_error_message and deliveries:
        every POST attempt as {"update_id", "url", "status" or "error"}."""
        return dict(await self._request("GET", "/webhook"))

    async def wait_for_deliveries(
        self, attempts: int, timeout: float = 5.0  # noqa: ASYNC109 - server-side wait
    ) -> list[dict[str, Any]]:
        """Waits until the sandbox has made `attempts` webhook POSTs; returns them all."""
        query = {"attempts": attempts, "timeout": timeout}
        found = list((await self._request("GET", "/webhook", query=query))["deliveries"])
        if len(found) < attempts:
            raise TimeoutError(f"{len(found)} webhook deliveries after {timeout}s")
        return found

    # -- failure modes --------------------------------------------------------------

    async def inject_fault(
        self,
        method: str | None = None,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching calls fail with this error (method None = any)."""
        body = {
            "method": method,
            "error_code": error_code,
            "description": description,
            "retry_after": retry_after,
            "chat_id": chat_id,
            "times": times,
        }
        await self._request("POST", "/faults", body)

    async def clear_faults(self) -> None:
        await self._request("DELETE", "/faults")

    async def random_faults(
        self,
        seed: int = 0,
        p429: float = 0.0,
        p403: float = 0.0,
        retry_after: int = 1,
        block_on_403: bool = True,
        methods: list[str] | None = None,
    ) -> None:
        """Seeded random failures per send call; all-zero probabilities switch it off."""
        body = {
            "seed": seed,
            "p429": p429,
            "p403": p403,
            "retry_after": retry_after,
            "block_on_403": block_on_403,
            "methods": methods,
        }
        await self._request("POST", "/random_faults", body)

    async def set_limits(self, enabled: bool = True, **rates: float) -> dict[str, Any]:
        """Flood limits: per_chat_rate, per_chat_burst, global_rate, global_burst."""
        return dict(await self._request("POST", "/limits", {"enabled": enabled, **rates}))

    async def reset(self) -> None:
        await self._request("POST", "/reset")
