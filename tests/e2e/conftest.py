"""The real aiogram bot, polling our fake Bot API over HTTP on 127.0.0.1, on each database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot, Dispatcher
from pydantic import SecretStr

from agreemint.config import Settings
from agreemint.runtime import Services
from agreemint.sandbox import FakeBotAPI, SandboxClient
from bot.app import build_bot, build_dispatcher, run_polling


@dataclass
class Harness:
    api: FakeBotAPI
    tg: SandboxClient
    bot: Bot
    dp: Dispatcher
    services: Services


@pytest.fixture
async def harness(services: Services, settings: Settings) -> AsyncIterator[Harness]:
    async with FakeBotAPI() as api:
        settings.bot.token = SecretStr(api.token)
        settings.bot.api_base = api.base_url
        bot = build_bot(settings.bot)
        dp = build_dispatcher(services)
        polling = asyncio.create_task(run_polling(bot, dp, polling_timeout=1))
        async with SandboxClient(api.base_url) as tg:
            try:
                yield Harness(api, tg, bot, dp, services)
            finally:
                with contextlib.suppress(RuntimeError):  # polling may not have started
                    await dp.stop_polling()
                await asyncio.wait_for(polling, timeout=10)
                await bot.session.close()
