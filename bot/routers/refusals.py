"""Manager and admin commands from anyone else: a plain refusal and an audit entry.

This router comes after the manager and admin routers, so it only sees what they declined.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from agreemint.services.roles import RoleService
from bot.filters import ADMIN_COMMANDS, MANAGER_CALLBACK_PREFIXES, MANAGER_COMMANDS

MANAGERS_ONLY = "Sorry, that is only for campaign managers."
ADMINS_ONLY = "Sorry, that is only for admins."


async def refuse_command(message: Message, roles: RoleService) -> None:
    user = message.from_user
    assert user is not None
    command = (message.text or "").split(maxsplit=1)[0]
    await roles.refuse(user.id, command)
    admin = command.lstrip("/").split("@")[0] in ADMIN_COMMANDS
    await message.answer(ADMINS_ONLY if admin else MANAGERS_ONLY)


async def refuse_button(callback: CallbackQuery, roles: RoleService) -> None:
    await roles.refuse(callback.from_user.id, callback.data or "")
    await callback.answer(MANAGERS_ONLY, show_alert=True)


def build() -> Router:
    """A fresh router for one dispatcher."""
    router = Router(name=__name__)
    router.message.register(refuse_command, Command(*MANAGER_COMMANDS, *ADMIN_COMMANDS))
    prefixes = tuple(f"{p}:" for p in MANAGER_CALLBACK_PREFIXES)
    router.callback_query.register(refuse_button, F.data.startswith(prefixes))
    return router
