"""Webhook mode: the sandbox POSTs updates to an aiogram SimpleRequestHandler."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from agreemint.sandbox import SandboxClient

SECRET = "s3cret_token-1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebhookApp:
    """An aiohttp server on 127.0.0.1 running the bot; can fail the next N requests."""

    def __init__(self, bot: Bot) -> None:
        self.failures = 0
        self.statuses: list[int] = []
        router = Router()

        @router.message()
        async def echo(message: Message) -> None:
            await message.answer(f"echo: {message.text}")

        dp = Dispatcher()
        dp.include_router(router)
        self.app = web.Application(middlewares=[self._fail_first])
        SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=SECRET).register(
            self.app, path="/hook"
        )
        self.runner = web.AppRunner(self.app)
        self.url = ""

    @web.middleware
    async def _fail_first(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.failures > 0:
            self.failures -= 1
            self.statuses.append(500)
            return web.Response(status=500)
        response = await handler(request)
        self.statuses.append(response.status)
        return response

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"


@pytest.fixture
async def hook(bot: Bot) -> AsyncIterator[WebhookApp]:
    app = WebhookApp(bot)
    await app.start()
    yield app
    await app.runner.cleanup()


async def test_delivery_with_secret_header(bot: Bot, tg: SandboxClient, hook: WebhookApp) -> None:
    assert await bot.set_webhook(hook.url, secret_token=SECRET)
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    await tg.create_user(9, "Di")
    await tg.send_text(9, "hello")
    [reply] = await tg.wait_for(9, 1)
    assert reply.text == "echo: hello"
    info = await bot.get_webhook_info()
    assert info.url == hook.url and info.pending_update_count == 0


async def test_redelivery_after_500(bot: Bot, tg: SandboxClient, hook: WebhookApp) -> None:
    hook.failures = 2
    await bot.set_webhook(hook.url, secret_token=SECRET)
    await tg.create_user(9, "Di")
    await tg.send_text(9, "again")
    [reply] = await tg.wait_for(9, 1)
    assert reply.text == "echo: again"
    assert hook.statuses == [500, 500, 200]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"


async def test_wrong_secret_is_refused_then_redelivered(
    bot: Bot, tg: SandboxClient, hook: WebhookApp
) -> None:
    await bot.set_webhook(hook.url, secret_token="wrong")
    await tg.create_user(9, "Di")
    await tg.send_text(9, "secret?")
    tries = await tg.wait_for_deliveries(2)
    assert [t["status"] for t in tries[:2]] == [401, 401]  # aiogram refuses the wrong secret
    assert hook.statuses[:2] == [401, 401]
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.set_webhook(hook.url, secret_token=SECRET)
    [reply] = await tg.wait_for(9, 1)
    assert reply.text == "echo: secret?"


async def test_secret_token_is_validated(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest):
        await bot.set_webhook("http://127.0.0.1:1/hook", secret_token="bad token!")


async def test_delete_webhook_returns_to_polling(bot: Bot, tg: SandboxClient) -> None:
    await bot.set_webhook("http://127.0.0.1:1/nothing-listens")
    await tg.create_user(9, "Di")
    update_id = await tg.send_text(9, "queued")
    await bot.delete_webhook()
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    await bot.set_webhook("http://127.0.0.1:1/nothing-listens")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []
