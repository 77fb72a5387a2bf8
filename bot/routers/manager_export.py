"""Managers: exporting labels as files in chat (`/export <campaign id> [format] [raw]`)."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import FSInputFile, Message

from agreemint.errors import InvalidInput
from agreemint.services.exports import FORMATS, SUFFIXES, ExportService
from bot.filters import IsManager

USAGE = (
    "Usage: /export CAMPAIGN_ID [" + "|".join(FORMATS) + "] [raw]\n"
    "csv, jsonl: one row per item (label, confidence, answers, agreement; raw adds the "
    "answers); answers: task,worker,label; labelstudio: tasks with predictions."
)
# Bots may send documents up to 50 MB; larger exports go through `agreemint campaign export`.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


def parse_args(args: str | None) -> tuple[int, str, bool]:
    """(campaign id, format, raw) from the command's arguments; InvalidInput shows the usage."""
    words = (args or "").lower().split()
    if not words or not words[0].isdigit() or len(words) > 3:
        raise InvalidInput(USAGE)
    fmt, raw = "csv", False
    for word in words[1:]:
        if word == "raw":
            raw = True
        elif word in FORMATS:
            fmt = word
        else:
            raise InvalidInput(f"Unknown export option {html.escape(word)!r}.\n{USAGE}")
    return int(words[0]), fmt, raw


async def export(message: Message, command: CommandObject, exports: ExportService) -> None:
    campaign_id, fmt, raw = parse_args(command.args)
    with tempfile.TemporaryDirectory(prefix="agreemint-export-") as folder:
        path = Path(folder) / f"campaign-{campaign_id}-{fmt}{SUFFIXES[fmt]}"
        rows = await exports.write(campaign_id, fmt, path, raw=raw)
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            await message.answer(
                f"The export is larger than Telegram's 50 MB for bots. Run: agreemint campaign "
                f"export {campaign_id} --format {fmt}{' --raw' if raw else ''} --out FILE")
            return
        caption = f"Campaign {campaign_id}: {rows} {'answers' if fmt == 'answers' else 'items'}"
        await message.answer_document(FSInputFile(path), caption=caption)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    router.message.register(export, Command("export"))
    return router
