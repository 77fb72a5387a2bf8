"""The Bot API side: a real aiogram Bot against the sandbox over HTTP."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from agreemint.sandbox import FakeBotAPI, SandboxClient

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x40\x00\x00\x00\xf0\x08\x02\x00\x00\x00"
    + b"\x00" * 64
)


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs]]
    )


async def test_get_me_is_a_complete_user(bot: Bot, api: FakeBotAPI) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == bot.id and me.username == "agreemint_bot"


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    other = Bot("42:not-the-token", session=session)
    with pytest.raises(TelegramUnauthorizedError):
        await other.get_me()
    await session.close()


async def test_unconfirmed_update_is_served_again(bot: Bot, tg: SandboxClient) -> None:
    await tg.create_user(5, "Bo")
    first = await tg.send_text(5, "/start")
    got = await bot.get_updates(timeout=1)
    assert [u.update_id for u in got] == [first]
    assert got[0].message is not None and got[0].message.text == "/start"
    assert got[0].message.entities and got[0].message.entities[0].type == "bot_command"
    again = await bot.get_updates(timeout=0)  # no offset: nothing confirmed yet
    assert [u.update_id for u in again] == [first]
    second = await tg.send_text(5, "hello")
    confirmed = await bot.get_updates(offset=first + 1, timeout=1)
    assert [u.update_id for u in confirmed] == [second]
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [second]


async def test_long_poll_wakes_on_new_update(bot: Bot, tg: SandboxClient) -> None:
    import asyncio

    await tg.create_user(5, "Bo")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    update_id = await tg.send_text(5, "hi")
    got = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in got] == [update_id]


async def test_negative_offset_and_limit(bot: Bot, tg: SandboxClient) -> None:
    await tg.create_user(5, "Bo")
    ids = [await tg.send_text(5, f"m{i}") for i in range(4)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[-1:]
    assert [u.update_id for u in await bot.get_updates()] == ids[-1:]


async def test_photo_upload_then_get_file_downloads_same_bytes(bot: Bot, ann: int) -> None:
    sent = await bot.send_photo(ann, BufferedInputFile(PNG, "cat.png"), caption="Task 1")
    assert sent.photo and sent.caption == "Task 1"
    assert (sent.photo[-1].width, sent.photo[-1].height) == (320, 240)
    file = await bot.get_file(sent.photo[-1].file_id)
    data = await bot.download_file(file.file_path or "")
    assert data is not None and data.read() == PNG
    again = await bot.send_photo(ann, sent.photo[-1].file_id)  # resend by file_id
    assert again.photo and again.photo[-1].file_id == sent.photo[-1].file_id


async def test_photo_by_url_is_accepted_offline(bot: Bot, tg: SandboxClient, ann: int) -> None:
    sent = await bot.send_photo(ann, "https://example.org/cat.jpg", caption="by url")
    assert sent.photo and sent.photo[-1].file_id
    [view] = await tg.messages(ann)
    assert view.photo == sent.photo[-1].file_id and view.caption == "by url"
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(ann, "no-such-file-id")


async def test_document_upload_is_visible_and_downloadable(
    bot: Bot, tg: SandboxClient, ann: int
) -> None:
    await bot.send_document(ann, BufferedInputFile(b"a,b\n1,2\n", "labels.csv"))
    doc = (await tg.messages(ann))[-1].document
    assert doc is not None and doc["file_name"] == "labels.csv"
    assert await tg.download(doc["file_id"]) == b"a,b\n1,2\n"


async def test_callback_data_over_64_bytes_is_rejected(bot: Bot, ann: int) -> None:
    await bot.send_message(ann, "ok", reply_markup=keyboard(("A", "x" * 64)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ann, "task", reply_markup=keyboard(("A", "é" * 33)))


async def test_text_limits(bot: Bot, ann: int) -> None:
    await bot.send_message(ann, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ann, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ann, "   ")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(ann, BufferedInputFile(PNG, "p.png"), caption="c" * 1025)


async def test_html_is_parsed_and_checked(bot: Bot, ann: int) -> None:
    sent = await bot.send_message(ann, "<b>Task</b> 1 &amp; 2", parse_mode="HTML")
    assert sent.text == "Task 1 & 2"
    assert sent.entities and sent.entities[0].type == "bold" and sent.entities[0].length == 4
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ann, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(ann, "a <div>b</div>", parse_mode="HTML")


async def test_unknown_chat_and_unstarted_user(bot: Bot, tg: SandboxClient) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "hi")
    await tg.create_user(8, "Cy")
    with pytest.raises(TelegramForbiddenError, match="can't initiate"):
        await bot.send_message(8, "hi")


async def test_blocked_user_is_forbidden(bot: Bot, tg: SandboxClient, ann: int) -> None:
    await tg.block_bot(ann)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ann, "news")
    await tg.unblock_bot(ann)
    await bot.send_message(ann, "welcome back")
    kinds = [next(k for k in u if k != "update_id") for u in await tg.pending_updates()]
    assert kinds.count("my_chat_member") == 2


async def test_injected_429_carries_retry_after(bot: Bot, tg: SandboxClient, ann: int) -> None:
    await tg.inject_fault("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ann, "x")
    assert caught.value.retry_after == 7
    await bot.send_message(ann, "x")  # one-shot
    await tg.inject_fault("sendMessage", 403, chat_id=ann, times=2)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(ann, "x")
    await bot.send_message(ann, "x")


async def test_rate_limit_per_chat(bot: Bot, tg: SandboxClient, ann: int) -> None:
    await tg.set_limits(per_chat_rate=1, per_chat_burst=2)
    await bot.send_message(ann, "1")
    await bot.send_message(ann, "2")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ann, "3")
    assert caught.value.retry_after >= 1
    await bot.send_chat_action(ann, "typing")  # not a message: not limited


async def test_random_faults_are_seeded(bot: Bot, tg: SandboxClient, ann: int) -> None:
    async def outcomes() -> list[str]:
        await tg.random_faults(seed=3, p429=0.3, block_on_403=False, p403=0.2)
        found = []
        for _ in range(20):
            try:
                await bot.send_message(ann, "x")
                found.append("ok")
            except TelegramRetryAfter:
                found.append("429")
            except TelegramForbiddenError:
                found.append("403")
        return found

    first, second = await outcomes(), await outcomes()
    assert first == second and {"ok", "429", "403"} <= set(first)


async def test_edits_and_deletes(bot: Bot, tg: SandboxClient, ann: int) -> None:
    sent = await bot.send_message(ann, "Task", reply_markup=keyboard(("A", "a")))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Task", chat_id=ann, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
        )
    edited = await bot.edit_message_text("Task: A", chat_id=ann, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.reply_markup is None  # dropped
    view = (await tg.messages(ann))[-1]
    assert view.text == "Task: A" and view.edited and view.buttons == []
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ann, message_id=9999)
    photo = await bot.send_photo(ann, BufferedInputFile(PNG, "p.png"), caption="old")
    await bot.edit_message_caption(chat_id=ann, message_id=photo.message_id, caption="new")
    assert (await tg.messages(ann))[-1].caption == "new"
    assert await bot.delete_message(ann, sent.message_id)
    assert sent.message_id not in [m.message_id for m in await tg.messages(ann)]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ann, sent.message_id)


async def test_commands_chat_and_misc(bot: Bot, ann: int) -> None:
    from aiogram.types import BotCommand

    assert await bot.set_my_commands([BotCommand(command="start", description="Begin")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == []
    chat = await bot.get_chat(ann)
    assert chat.id == ann and chat.type == "private" and chat.first_name == "Ann"
    assert await bot.send_chat_action(ann, "typing")


async def test_call_log_records_params_and_errors(bot: Bot, tg: SandboxClient, ann: int) -> None:
    await bot.send_message(ann, "hi", reply_markup=keyboard(("A", "a:1")))
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ann, "")
    calls = await tg.calls("sendMessage")
    assert calls[0]["params"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "a:1"
    assert calls[0]["ok"] and calls[0]["result"]["text"] == "hi"
    assert not calls[1]["ok"] and calls[1]["error_code"] == 400
