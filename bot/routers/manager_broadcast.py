"""Managers: announcing a campaign to workers, with a live status message.

    /broadcast <campaign_id> [min_quality]
    optional custom text on the following lines

queues the broadcast and answers with the status message that the sender (bot/broadcaster.py,
run by the scheduler) keeps editing.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from agreemint.domain import WorkerView
from agreemint.errors import AgreemintError
from agreemint.services.broadcast import BroadcastService
from bot.filters import IsManager

USAGE = (
    "Usage: /broadcast <campaign id> [min quality 0–1]\n"
    "Optionally, your own announcement on the next lines.\n"
    "Example: /broadcast 3 0.8"
)
NOT_WIRED = "Broadcasts are not set up on this bot."


class _Usage(ValueError):
    """The command's arguments do not parse; the reply says why."""


def parse_args(args: str | None) -> tuple[int, float | None, str | None]:
    """(campaign id, min quality or None, custom text or None) from the command's arguments."""
    first, _, rest = (args or "").partition("\n")
    words = first.split()
    if not words or len(words) > 2:
        raise _Usage(USAGE)
    try:
        campaign_id = int(words[0].lstrip("#"))
    except ValueError:
        raise _Usage(f"“{words[0]}” is not a campaign id.\n\n{USAGE}") from None
    if campaign_id <= 0:
        raise _Usage(f"“{words[0]}” is not a campaign id.\n\n{USAGE}")
    min_quality: float | None = None
    if len(words) == 2:
        try:
            min_quality = float(words[1])
        except ValueError:
            raise _Usage(f"“{words[1]}” is not a quality between 0 and 1.\n\n{USAGE}") from None
        if not 0.0 <= min_quality <= 1.0:
            raise _Usage(f"“{words[1]}” is not a quality between 0 and 1.\n\n{USAGE}")
    return campaign_id, min_quality, rest.strip() or None


async def broadcast_command(
    message: Message, command: CommandObject, worker: WorkerView,
    broadcast: BroadcastService | None = None,
) -> None:
    if broadcast is None:
        await message.answer(NOT_WIRED)
        return
    try:
        campaign_id, min_quality, text = parse_args(command.args)
    except _Usage as exc:
        await message.answer(str(exc), parse_mode=None)
        return
    audience = {"min_quality": min_quality} if min_quality is not None else {}
    try:
        broadcast_id = await broadcast.create(
            text, campaign_id=campaign_id, audience=audience, created_by=worker.id)
    except AgreemintError as exc:
        await message.answer(exc.user_message, parse_mode=None)
        return
    _, _, total = await broadcast.progress(broadcast_id)
    who = f" with quality ≥ {min_quality:g}" if min_quality is not None else ""
    status = await message.answer(
        f"Broadcast #{broadcast_id}: 0 / {total:,} sent · queued for {total:,} "
        f"worker{'s' if total != 1 else ''}{who}. This message shows the progress.",
        parse_mode=None,
    )
    await broadcast.attach_status(broadcast_id, status.chat.id, status.message_id)


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    router.message.register(broadcast_command, Command("broadcast"))
    return router
