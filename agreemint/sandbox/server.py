"""FakeBotAPI: the HTTP server a real bot talks to instead of api.telegram.org.

Routes `/bot{token}/{method}` (any Bot API method the sandbox implements),
`/file/bot{token}/{path}` (downloads) and the control API under `/_sandbox/`.
"""

from __future__ import annotations

import copy
import re
from types import TracebackType
from typing import Any

from aiohttp import web

# Importing the method modules registers their handlers in METHODS.
from . import methods_edit, methods_misc, methods_send, methods_updates  # noqa: F401
from .control import ControlAPI
from .errors import NOT_FOUND, UNAUTHORIZED, ApiError
from .limits import FaultInjector, RateLimiter
from .objects import UserRecord
from .params import Params, read_params
from .registry import METHODS, chat_id_of
from .state import CallRecord, SandboxState
from .webhook import WebhookDeliverer, WebhookPolicy

DEFAULT_TOKEN = "123456789:AAsandbox-token_for-tests-only"
_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class FakeBotAPI:
    """A fake Telegram Bot API for one bot token.

        async with FakeBotAPI() as api:
            server = TelegramAPIServer.from_base(api.base_url)
            bot = Bot(api.token, session=AiohttpSession(api=server))
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "agreemint_bot",
        bot_first_name: str = "agreemint",
        first_update_id: int = 1000,
        webhook_policy: WebhookPolicy | None = None,
    ) -> None:
        if not _TOKEN_SHAPE.match(token):
            raise ValueError("token must look like '<bot id>:<secret>'")
        self.token = token
        bot = UserRecord(
            id=int(token.split(":", 1)[0]),
            first_name=bot_first_name,
            username=bot_username,
            is_bot=True,
        )
        self.state = SandboxState(bot, first_update_id)
        self.limiter = RateLimiter()
        self.faults = FaultInjector()
        self.deliverer = WebhookDeliverer(self.state, webhook_policy, on_reply=self.call)
        self.control = ControlAPI(self)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(self.control.routes())
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._bot_call),
                web.get("/file/bot{token}/{path:.+}", self._file),
            ]
        )
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Starts serving; returns the base URL (also in `base_url`)."""
        self.state.closing = False
        runner = web.AppRunner(self.make_app(), shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1] if runner.addresses else port
        self.base_url = f"http://{host}:{bound_port}"
        self.deliverer.start()
        return self.base_url

    async def stop(self) -> None:
        """Releases long polls and waits, stops webhook delivery, closes the server."""
        self.state.closing = True
        self.state.changed()
        await self.deliverer.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def reset(self) -> None:
        """Fresh users, chats, files, queue, log, faults and limits; the bot's identity,
        webhook and update ids carry on so a running bot is not confused."""
        self.state.clear()
        self.limiter.reset()
        self.faults.reset()
        self.deliverer.deliveries.clear()

    def _token_error(self, token: str) -> ApiError | None:
        if token == self.token:
            return None
        return UNAUTHORIZED if _TOKEN_SHAPE.match(token) else NOT_FOUND

    async def _bot_call(self, request: web.Request) -> web.Response:
        token_error = self._token_error(request.match_info["token"])
        if token_error is not None:
            return web.json_response(token_error.body(), status=token_error.error_code)
        try:
            params = await read_params(request)
        except ApiError as e:
            return web.json_response(e.body(), status=e.error_code)
        status, body = await self.call(request.match_info["method"], params)
        return web.json_response(body, status=status)

    async def call(self, name: str, params: Params) -> tuple[int, dict[str, Any]]:
        """Runs one Bot API call as if it came over HTTP; logs it; returns the HTTP status
        and the response body."""
        handler = METHODS.get(name.lower())
        if handler is None:
            return 404, NOT_FOUND.body()
        seq = self.state.next_seq()
        try:
            result = await self._run(name.lower(), handler, params)
        except ApiError as e:
            logged = params.loggable()
            self._log(CallRecord(seq, name, logged, False, None, e.error_code, e.description))
            return e.error_code, e.body()
        self._log(CallRecord(seq, name, params.loggable(), True, copy.deepcopy(result)))
        return 200, {"ok": True, "result": result}

    async def _run(self, method: str, handler: Any, params: Params) -> Any:
        chat_id = chat_id_of(params)
        fault = self.faults.take(method, chat_id)
        if fault is not None:
            if fault.block_user and chat_id in self.state.users:
                self.state.users[chat_id].blocked = True
            raise fault
        self.limiter.check(method, chat_id)
        return await handler(self.state, params)

    def _log(self, record: CallRecord) -> None:
        self.state.calls.append(record)
        self.state.changed()

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(NOT_FOUND.body(), status=404)
        path = request.match_info["path"]
        for record in self.state.files.values():
            if record.path == path:
                return web.Response(body=record.data, content_type="application/octet-stream")
        return web.json_response(NOT_FOUND.body(), status=404)
