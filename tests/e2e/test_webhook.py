"""Webhook mode: the sandbox pushes updates with the secret header; others are refused."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from pydantic import SecretStr

from agreemint.config import Settings
from agreemint.runtime import Services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from bot.app import build_bot, build_dispatcher, start_webhook
from tests.factories import make_campaign


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def webhook_error(tg: SandboxClient) -> dict[str, Any]:
    for _ in range(200):
        info = await tg.webhook_info()
        if info.get("last_error_message"):
            return info
        await asyncio.sleep(0.025)
    raise AssertionError("the webhook never reported an error")


async def test_webhook_checks_secret_and_ignores_duplicates(
    services: Services, settings: Settings
) -> None:
    await make_campaign(services)
    async with FakeBotAPI() as api, SandboxClient(api.base_url) as tg:
        port = free_port()
        settings.bot.token = SecretStr(api.token)
        settings.bot.api_base = api.base_url
        settings.bot.mode = "webhook"
        settings.bot.webhook_port = port
        settings.bot.webhook_secret = SecretStr("s3cret-token_1")
        settings.bot.webhook_url = f"http://127.0.0.1:{port}{settings.bot.webhook_path}"
        secret = settings.bot.webhook_secret.get_secret_value()
        bot = build_bot(settings.bot)
        runner = await start_webhook(bot, build_dispatcher(services), settings.bot)
        try:
            # Deliveries without the right secret are refused and change nothing.
            await bot.set_webhook(settings.bot.webhook_url, secret_token="wrong-secret")
            await tg.create_user(42, "Eve")
            await tg.send_text(42, "/start")
            info = await webhook_error(tg)
            assert "401" in str(info["last_error_message"])
            assert await tg.messages(42) == []
            # With the right secret the pending update is redelivered and handled.
            await bot.set_webhook(settings.bot.webhook_url, secret_token=secret)
            msgs = await tg.wait_for(42, 1, timeout=10)
            assert "Welcome to agreemint, Eve" in msgs[0].content
            # Telegram sends the same update again: handled once only.
            await tg.duplicate_last_update(42)
            await tg.send_text(42, "/help")
            msgs = await tg.wait_for(42, 2, timeout=10)
            assert "Commands" in msgs[1].content
            await asyncio.sleep(0.2)
            assert sum("Welcome" in m.content for m in await tg.messages(42)) == 1
        finally:
            await runner.cleanup()
            await bot.session.close()
