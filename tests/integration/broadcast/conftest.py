"""Fixtures: the sandbox Bot API, a real aiogram Bot on it, and a BroadcastService."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from agreemint.config import BroadcastSettings
from agreemint.runtime import Services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from agreemint.services.broadcast import BroadcastService


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
async def tg(api: FakeBotAPI) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(api.base_url) as client:
        yield client


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    yield bot
    await bot.session.close()


@pytest.fixture
def broadcast(services: Services) -> BroadcastService:
    # Fast enough for tests; the pacing logic is the same at any rate.
    settings = BroadcastSettings(messages_per_second=100, per_chat_interval_seconds=1,
                                 max_attempts=3)
    return BroadcastService(services.sessionmaker, settings)
