"""The control API under /_sandbox/: tests and the demo act as users and read chats.

JSON in, JSON out. Refusals (unknown user, a button that is not there) answer 4xx with
{"error": "..."}; SandboxClient turns those into SandboxError.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import users
from .errors import ControlError
from .files import store
from .limits import SEND_METHODS, RandomFaults, make_fault
from .views import chat_view

if TYPE_CHECKING:
    from .server import FakeBotAPI

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_WAIT = 60.0


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except json.JSONDecodeError:
        raise ControlError("body must be JSON") from None
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be an integer") from None


def _guard(fn: Route) -> Route:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except ControlError as e:
            return web.json_response({"error": str(e)}, status=e.status)

    return wrapped


class ControlAPI:
    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.state = api.state

    def routes(self) -> list[web.RouteDef]:
        p = "/_sandbox"
        table: list[tuple[str, str, Route]] = [
            ("POST", f"{p}/users", self.create_user),
            ("POST", f"{p}/users/{{uid}}/messages", self.send_text),
            ("POST", f"{p}/users/{{uid}}/photos", self.send_photo),
            ("POST", f"{p}/users/{{uid}}/documents", self.send_document),
            ("POST", f"{p}/users/{{uid}}/tap", self.tap),
            ("POST", f"{p}/users/{{uid}}/press", self.press),
            ("POST", f"{p}/users/{{uid}}/block", self.block),
            ("POST", f"{p}/users/{{uid}}/unblock", self.unblock),
            ("POST", f"{p}/users/{{uid}}/duplicate_last_update", self.duplicate),
            ("GET", f"{p}/users/{{uid}}/callback_answers", self.callback_answers),
            ("GET", f"{p}/chats/{{uid}}", self.chat),
            ("GET", f"{p}/calls", self.calls),
            ("POST", f"{p}/updates/{{update_id}}/redeliver", self.redeliver),
            ("GET", f"{p}/updates", self.updates),
            ("POST", f"{p}/faults", self.add_fault),
            ("DELETE", f"{p}/faults", self.clear_faults),
            ("POST", f"{p}/random_faults", self.random_faults),
            ("POST", f"{p}/limits", self.set_limits),
            ("POST", f"{p}/files", self.upload_file),
            ("GET", f"{p}/files/{{file_id}}", self.download_file),
            ("GET", f"{p}/webhook", self.webhook),
            ("POST", f"{p}/reset", self.reset),
        ]
        return [web.route(m, path, _guard(fn)) for m, path, fn in table]

    def _uid(self, request: web.Request) -> int:
        return _int(request.match_info["uid"], "user id")

    async def create_user(self, request: web.Request) -> web.Response:
        return web.json_response(users.create_user(self.state, await _body(request)))

    async def send_text(self, request: web.Request) -> web.Response:
        text = str((await _body(request)).get("text", ""))
        return web.json_response(users.send_text(self.state, self._uid(request), text))

    async def send_photo(self, request: web.Request) -> web.Response:
        body = await _body(request)
        data = base64.b64decode(body["data"]) if body.get("data") else None
        result = users.send_photo(
            self.state, self._uid(request), data, body.get("file_id"), body.get("caption")
        )
        return web.json_response(result)

    async def send_document(self, request: web.Request) -> web.Response:
        body = await _body(request)
        result = users.send_document(
            self.state, self._uid(request), base64.b64decode(body.get("data") or ""),
            str(body.get("file_name") or ""), body.get("mime_type"), body.get("caption"),
        )
        return web.json_response(result)

    async def tap(self, request: web.Request) -> web.Response:
        body = await _body(request)
        result = users.tap(
            self.state,
            self._uid(request),
            _int(body.get("message_id"), "message_id"),
            str(body.get("callback_data", "")),
            bool(body.get("force", False)),
        )
        return web.json_response(result)

    async def press(self, request: web.Request) -> web.Response:
        body = await _body(request)
        return web.json_response(users.press(self.state, self._uid(request), str(body.get("text"))))

    async def block(self, request: web.Request) -> web.Response:
        return web.json_response(users.set_blocked(self.state, self._uid(request), True))

    async def unblock(self, request: web.Request) -> web.Response:
        return web.json_response(users.set_blocked(self.state, self._uid(request), False))

    async def duplicate(self, request: web.Request) -> web.Response:
        return web.json_response(users.duplicate_last_update(self.state, self._uid(request)))

    async def callback_answers(self, request: web.Request) -> web.Response:
        uid = self._uid(request)
        answers = [
            {"data": q.data, "message_id": q.message_id, "answered": q.answered, **(q.answer or {})}
            for q in self.state.callbacks.values()
            if q.user_id == uid
        ]
        return web.json_response(answers)

    async def chat(self, request: web.Request) -> web.Response:
        """The chat now; with since_version, long-polls until the chat changes past it."""
        uid = self._uid(request)
        self.state.user(uid)
        chat = self.state.chats[uid]
        since = request.query.get("since_version")
        if since is not None:
            timeout = min(MAX_WAIT, float(request.query.get("timeout", "10")))
            after = _int(since, "since_version")
            await self.state.wait_until(lambda: chat.version > after, timeout)
        include_user = request.query.get("include_user", "") in ("1", "true")
        return web.json_response(chat_view(chat, include_user))

    async def calls(self, request: web.Request) -> web.Response:
        """The call log; with count and timeout, waits until that many calls match."""
        method = (request.query.get("method") or "").lower()
        since = _int(request.query.get("since", "0"), "since")

        def matching() -> list[dict[str, Any]]:
            return [
                c.as_json()
                for c in self.state.calls
                if c.seq > since and (not method or c.method.lower() == method)
            ]

        if "count" in request.query:
            count = _int(request.query["count"], "count")
            timeout = min(MAX_WAIT, float(request.query.get("timeout", "5")))
            await self.state.wait_until(lambda: len(matching()) >= count, timeout)
        return web.json_response(matching())

    async def redeliver(self, request: web.Request) -> web.Response:
        update_id = _int(request.match_info["update_id"], "update_id")
        self.state.redeliver(update_id)
        return web.json_response({"update_id": update_id})

    async def updates(self, request: web.Request) -> web.Response:
        pending = [u.payload for u in self.state.pending]
        return web.json_response({"pending": pending})

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        fault = make_fault(
            body.get("method"),
            _int(body.get("error_code", 429), "error_code"),
            body.get("description"),
            body.get("retry_after"),
            body.get("chat_id"),
            _int(body.get("times", 1), "times"),
        )
        self.api.faults.queue.append(fault)
        return web.json_response({"queued": len(self.api.faults.queue)})

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.api.faults.reset()
        return web.json_response({"queued": 0})

    async def random_faults(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if not body.get("p429") and not body.get("p403"):
            self.api.faults.random = None
            return web.json_response({"random": None})
        methods = body.get("methods")
        self.api.faults.random = RandomFaults(
            seed=_int(body.get("seed", 0), "seed"),
            p429=float(body.get("p429", 0.0)),
            p403=float(body.get("p403", 0.0)),
            retry_after=_int(body.get("retry_after", 1), "retry_after"),
            block_on_403=bool(body.get("block_on_403", True)),
            methods=frozenset(m.lower() for m in methods) if methods else SEND_METHODS,
        )
        return web.json_response({"random": body})

    async def set_limits(self, request: web.Request) -> web.Response:
        self.api.limiter.config.update(await _body(request))
        return web.json_response(vars(self.api.limiter.config))

    async def upload_file(self, request: web.Request) -> web.Response:
        body = await _body(request)
        data = base64.b64decode(body.get("data", ""))
        record = store(self.state, data, str(body.get("kind", "photo")), body.get("file_name"))
        return web.json_response({"file_id": record.file_id, "file_path": record.path})

    async def download_file(self, request: web.Request) -> web.Response:
        record = self.state.files.get(request.match_info["file_id"])
        if record is None:
            raise ControlError("unknown file_id", 404)
        return web.Response(body=record.data, content_type="application/octet-stream")

    async def webhook(self, request: web.Request) -> web.Response:
        """Webhook state and every delivery attempt; with attempts and timeout, waits
        until that many attempts were made."""
        if "attempts" in request.query:
            attempts = _int(request.query["attempts"], "attempts")
            timeout = min(MAX_WAIT, float(request.query.get("timeout", "5")))
            deliveries = self.api.deliverer.deliveries
            await self.state.wait_until(lambda: len(deliveries) >= attempts, timeout)
        hook = self.state.webhook
        return web.json_response(
            {
                "url": hook.url if hook else None,
                "secret_token": hook.secret_token if hook else None,
                "pending_update_count": len(self.state.pending),
                "last_error_message": hook.last_error_message if hook else None,
                "deliveries": self.api.deliverer.deliveries,
            }
        )

    async def reset(self, request: web.Request) -> web.Response:
        self.api.reset()
        return web.json_response({"ok": True})
