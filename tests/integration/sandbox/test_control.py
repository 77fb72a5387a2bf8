"""The sandbox itself: raw HTTP parameter styles, shutdown, standalone mode, extras."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from agreemint.sandbox import FakeBotAPI, SandboxClient, SandboxError


async def _post(api: FakeBotAPI, method: str, **kwargs: object) -> tuple[int, dict]:
    url = f"{api.base_url}/bot{api.token}/{method}"
    async with aiohttp.ClientSession() as s, s.post(url, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, await r.json()


async def test_json_body_and_query_params(api: FakeBotAPI, ann: int) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = await _post(
        api, "sendMessage", json={"chat_id": ann, "text": "hi", "reply_markup": markup}
    )
    assert status == 200 and body["result"]["reply_markup"] == markup
    assert body["result"]["from"]["is_bot"] is True and body["result"]["chat"]["id"] == ann
    url = f"{api.base_url}/bot{api.token}/SENDMESSAGE"  # method names ignore case
    async with aiohttp.ClientSession() as s, s.get(url, params={"chat_id": ann, "text": "q"}) as r:
        assert r.status == 200 and (await r.json())["result"]["text"] == "q"
    status, body = await _post(api, "noSuchMethod", data={})
    assert (status, body["description"]) == (404, "Not Found")


async def test_error_shape_matches_telegram(api: FakeBotAPI, tg: SandboxClient, ann: int) -> None:
    await tg.inject_fault("sendMessage", 429, retry_after=3)
    status, body = await _post(api, "sendMessage", data={"chat_id": ann, "text": "x"})
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }


async def test_stop_releases_long_polls() -> None:
    api = FakeBotAPI()
    await api.start()
    url = f"{api.base_url}/bot{api.token}/getUpdates"
    async with aiohttp.ClientSession() as session:
        poll = asyncio.create_task(session.post(url, data={"timeout": "30"}))
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        await api.stop()
        response = await asyncio.wait_for(poll, 3)
        assert (await response.json())["result"] == []
        assert asyncio.get_running_loop().time() - started < 2


async def test_callback_answer_rules(bot: Bot, tg: SandboxClient, ann: int) -> None:
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("nope")
    sent = await bot.send_message(
        ann, "t", reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    )
    await tg.tap(ann, sent.message_id, "a")
    [update] = [u for u in await bot.get_updates() if u.callback_query]
    query = update.callback_query
    assert query is not None and query.message is not None and query.chat_instance
    with pytest.raises(TelegramBadRequest):
        await bot.answer_callback_query(query.id, text="x" * 201)
    assert await bot.answer_callback_query(query.id, text="Saved", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    [answer] = await tg.callback_answers(ann)
    assert answer["text"] == "Saved" and answer["show_alert"] is True


async def test_redeliver_serves_a_confirmed_update_again(bot: Bot, tg: SandboxClient) -> None:
    await tg.create_user(5, "Bo")
    first = await tg.send_text(5, "once")
    assert [u.update_id for u in await bot.get_updates()] == [first]
    assert await bot.get_updates(offset=first + 1) == []
    await tg.redeliver(first)
    again = await bot.get_updates(offset=first + 1)
    assert [u.update_id for u in again] == [first]
    assert again[0].message is not None and again[0].message.text == "once"
    assert await bot.get_updates(offset=first + 1) == []  # served once, then gone


async def test_control_refusals(tg: SandboxClient, ann: int) -> None:
    with pytest.raises(SandboxError, match="unknown user"):
        await tg.send_text(123456, "hi")
    with pytest.raises(SandboxError, match="not in chat"):
        await tg.tap(ann, 999, "x")
    with pytest.raises(TimeoutError):
        await tg.wait_for(ann, 5, timeout=0.2)


async def test_global_rate_limit(bot: Bot, tg: SandboxClient) -> None:
    from aiogram.exceptions import TelegramRetryAfter

    for uid in range(1, 6):
        await tg.create_user(uid, f"U{uid}", started=True)
    await tg.set_limits(global_rate=2, global_burst=3)
    for uid in range(1, 4):
        await bot.send_message(uid, "news")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(4, "news")


async def test_user_photo_and_reset(bot: Bot, tg: SandboxClient, ann: int) -> None:
    update_id = await tg.send_photo(ann, b"\xff\xd8jpeg", caption="mine")
    [update] = [u for u in await bot.get_updates() if u.update_id == update_id]
    assert update.message is not None and update.message.photo and update.message.caption == "mine"
    file_id = await tg.upload_file(b"%PDF", kind="document", file_name="a.pdf")
    sent = await bot.send_document(ann, file_id)
    assert sent.document is not None and sent.document.file_name == "a.pdf"
    await tg.reset()
    with pytest.raises(SandboxError):
        await tg.messages(ann)
    later = await tg.create_user(ann, "Ann")
    assert later["id"] == ann
    assert (await tg.send_text(ann, "hi")) > update_id  # ids keep growing across resets


async def test_webhook_reply_method_is_executed(bot: Bot, tg: SandboxClient) -> None:
    """aiogram answers a webhook with the handler's returned method (multipart form);
    Telegram runs it, so the sandbox does too."""
    router = Router()

    @router.message()
    async def reply(message: Message) -> SendMessage:
        return message.answer(f"inline: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher=dp, bot=bot, handle_in_background=False)
    handler.register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        await tg.create_user(9, "Di")
        await tg.send_text(9, "hi")
        [msg] = await tg.wait_for(9, 1)
        assert msg.text == "inline: hi"
        [delivery] = (await tg.webhook_info())["deliveries"]
        assert delivery["reply"] == {"method": "sendMessage", "status": 200}
    finally:
        await runner.cleanup()


async def test_standalone_prints_base_url() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agreemint.sandbox", "--port", "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip()
        token = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode().split()[-1]
        assert line.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as s, s.get(f"{line}/bot{token}/getMe") as r:
            assert json.loads(await r.text())["result"]["is_bot"] is True
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_user_sends_a_document_the_bot_can_download() -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    from agreemint.sandbox import FakeBotAPI, SandboxClient

    async with FakeBotAPI() as api, SandboxClient(api.base_url) as tg:
        await tg.create_user(5, "Mia")
        await tg.send_document(5, b"id,text\n1,hello\n", "items.csv", mime_type="text/csv")
        bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        try:
            [update] = await bot.get_updates(timeout=0)
            assert update.message is not None and update.message.document is not None
            assert update.message.document.file_name == "items.csv"
            file = await bot.get_file(update.message.document.file_id)
            assert file.file_path is not None
            data = await bot.download_file(file.file_path)
            assert data is not None and data.read() == b"id,text\n1,hello\n"
        finally:
            await bot.session.close()
