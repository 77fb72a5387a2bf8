"""Fixtures: a fresh FakeBotAPI per test, a control client, and a real aiogram Bot on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from agreemint.sandbox import FakeBotAPI, SandboxClient, WebhookPolicy


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    policy = WebhookPolicy(backoff_initial=0.02, backoff_max=0.1, request_timeout=2.0)
    async with FakeBotAPI(webhook_policy=policy) as server:
        yield server


@pytest.fixture
async def tg(api: FakeBotAPI) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(api.base_url) as client:
        yield client


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(api.token, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
async def ann(tg: SandboxClient) -> int:
    """A user who has opened the bot (so the bot may write to her)."""
    await tg.create_user(7001, "Ann", username="ann")
    await tg.send_text(7001, "/start")
    return 7001
