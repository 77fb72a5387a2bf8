"""The new-campaign dialog's items step: receive the manager's file, parse it, clean it up.

The file stays on disk until Confirm parses it again (state data holds JSON values only, not the
items); a dialog that ends otherwise removes it with `forget_file`.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from agreemint.errors import InvalidInput
from agreemint.services.campaigns import gold_options
from agreemint.services.funding import FundingService
from agreemint.services.itemfile import FORMATS, ItemSpec, parse_items
from bot import create_texts as t
from bot.routers.manager_create_steps import CANCEL_KB, CONFIRM_KB, NewCampaign, draft

MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download from Telegram


async def items_file(
    message: Message, bot: Bot, state: FSMContext, upload_dir: Path | None = None,
    funding: FundingService | None = None,
) -> None:
    doc = message.document
    assert doc is not None  # the filter
    name = re.sub(r"[^\w.\-]", "_", Path(doc.file_name or "items").name)[:100]
    if not name.lower().endswith(FORMATS):
        await message.answer(t.BAD_FILE_TYPE, reply_markup=CANCEL_KB)
        return
    if (doc.file_size or 0) > MAX_FILE_BYTES:
        await message.answer(t.FILE_TOO_BIG.format(size=(doc.file_size or 0) // 2**20,
                                                   limit=MAX_FILE_BYTES // 2**20))
        return
    # One folder per upload keeps the manager's file name (the parser reports it) and its
    # suffix (the parser dispatches on it), and is removed whole.
    root, key = Path(upload_dir or tempfile.gettempdir()), uuid.uuid4().hex
    folder = root / "uploads" / key
    folder.mkdir(parents=True)
    # A ZIP's images go where they stay: item photos point at them after the upload is gone.
    await state.update_data(media=str(root / "media" / key))
    path = folder / name
    await bot.download(doc, destination=path)
    data = await state.get_data()
    try:
        items = await parse_file(path, data)
    except InvalidInput as exc:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(data["media"], ignore_errors=True)
        await message.answer(t.file_problems(exc.user_message), reply_markup=CANCEL_KB)
        return
    gold = sum(1 for i in items if i.gold_label is not None)
    await state.update_data(file=str(path), items=len(items), gold_items=gold)
    await state.set_state(NewCampaign.confirm)
    summary = draft(await state.get_data(), funding)
    await message.answer(t.items_read(len(items), gold) + "\n\n" +
                         t.summary(summary, funding.symbol if funding else "LBL"),
                         reply_markup=CONFIRM_KB)


async def parse_file(path: Path, data: dict[str, Any]) -> list[ItemSpec]:
    """Parse off the event loop (a big file takes a while); checks the gold share too."""
    # local_images=False: a path in an uploaded file must not make the bot send a server file.
    # gold_options: a multiple-choice or free-text gold is checked by what it may be, not by
    # being one of the labels.
    options = gold_options(data["task_type"], tuple(data["labels"]))
    items = await asyncio.to_thread(
        parse_items, path, options, media_dir=Path(data["media"]), local_images=False)
    if data["gold"] > 0 and not any(i.gold_label is not None for i in items):
        raise InvalidInput(t.NO_GOLD_ITEMS.format(share=data["gold"]))
    return items


async def not_a_file(message: Message) -> None:
    await message.answer(t.SEND_DOCUMENT, reply_markup=CANCEL_KB)


async def forget_file(state: FSMContext) -> None:
    """Remove the upload (and its extracted images) of a dialog that will not be confirmed."""
    data = await state.get_data()
    if data.get("file"):
        shutil.rmtree(Path(data["file"]).parent, ignore_errors=True)
        shutil.rmtree(data["media"], ignore_errors=True)
