"""A minimal aiogram bot polling the sandbox while the client acts as a user."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramConflictError
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from agreemint.sandbox import SandboxClient, SandboxError


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs]]
    )


def build_router(seen: list[str]) -> Router:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome", reply_markup=keyboard(("Next task", "next")))

    @router.callback_query(F.data == "next")
    async def next_task(query: CallbackQuery) -> None:
        await query.answer("Loading")
        assert isinstance(query.message, Message)
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer("Task 1: cat or dog?", reply_markup=keyboard(
            ("Cat", "a:1:cat"), ("Dog", "a:1:dog")
        ))

    @router.callback_query(F.data.startswith("a:"))
    async def answer(query: CallbackQuery) -> None:
        seen.append(query.data or "")
        if not isinstance(query.message, Message):  # a forged tap on a message gone
            await query.answer("That task is gone", show_alert=True)
            return
        await query.answer("Saved")
        await query.message.edit_text(f"{query.message.text}\nYour answer: {query.data}")

    return router


@pytest.fixture
async def seen(bot: Bot) -> AsyncIterator[list[str]]:
    """Runs the bot's polling loop for the test; yields the answers its handler saw."""
    taps: list[str] = []
    dp = Dispatcher()
    dp.include_router(build_router(taps))
    task = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
    yield taps
    await dp.stop_polling()
    await asyncio.wait_for(task, 5)


async def test_press_tap_flow(tg: SandboxClient, seen: list[str]) -> None:
    await tg.create_user(42, "Ann")
    await tg.send_text(42, "/start")
    [welcome] = await tg.wait_for(42, 1)
    assert welcome.text == "Welcome" and welcome.button_texts == ["Next task"]

    await tg.press(42, "Next task")
    msgs = await tg.wait_for(42, 2)
    assert msgs[0].buttons == [] and msgs[0].edited  # the bot removed the keyboard
    task = msgs[1]
    assert task.button("Cat") is not None and task.button("Cat").callback_data == "a:1:cat"
    await tg.wait_for_call("answerCallbackQuery")
    answers = await tg.callback_answers(42)
    assert answers[0]["text"] == "Loading" and answers[0]["answered"]

    await tg.tap(42, task.message_id, "a:1:cat")
    msgs = await tg.wait_for(42, lambda ms: ms[-1].edited)
    assert msgs[-1].text == "Task 1: cat or dog?\nYour answer: a:1:cat" and msgs[-1].buttons == []
    assert seen == ["a:1:cat"]

    with pytest.raises(SandboxError, match="no button"):
        await tg.tap(42, task.message_id, "a:1:dog")  # the buttons are gone now
    with pytest.raises(SandboxError, match="no button"):
        await tg.press(42, "Dog")


async def test_forged_and_duplicate_updates_reach_the_bot(
    tg: SandboxClient, seen: list[str]
) -> None:
    await tg.create_user(43, "Bo")
    await tg.send_text(43, "/start")
    await tg.wait_for(43, 1)
    await tg.tap(43, 999, "a:9:forged", force=True)  # no such message: inaccessible
    await tg.wait_for_call("answerCallbackQuery")
    assert (await tg.callback_answers(43))[0]["show_alert"] is True

    update_id = await tg.duplicate_last_update(43)
    answers = await tg.wait_for_call("answerCallbackQuery", count=2)
    assert seen == ["a:9:forged", "a:9:forged"]  # the same update, delivered twice
    # Telegram refuses a second answer to the same query; the bot must live with that.
    assert answers[1]["error_code"] == 400 and "query is too old" in answers[1]["description"]
    pending = await tg.pending_updates()
    assert all(u["update_id"] != update_id for u in pending)


async def test_reply_keyboard_press_sends_text(bot: Bot, tg: SandboxClient) -> None:
    from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

    await tg.create_user(44, "Cy")
    await tg.send_text(44, "hi")
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Balance")]])
    await bot.send_message(44, "Menu", reply_markup=markup)
    assert await tg.reply_keyboard(44) == [["Balance"]]
    await tg.press(44, "Balance")
    mine = await tg.messages(44, include_user=True)
    assert [m.text for m in mine if not m.from_bot] == ["hi", "Balance"]


async def test_second_poller_conflicts(bot: Bot, tg: SandboxClient) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=3))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(first, 2)
    assert await second == []
