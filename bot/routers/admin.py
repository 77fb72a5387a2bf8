"""Admins: granting and revoking the manager role in chat (every change audited by RoleService)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from agreemint.errors import InvalidInput
from agreemint.services.roles import MANAGER, WORKER, RoleService
from bot import manager_texts as texts
from bot.filters import IsManager


def target_id(command: CommandObject) -> int:
    words = (command.args or "").split()
    if len(words) != 1 or not words[0].isdigit():
        raise InvalidInput(texts.GRANT_USAGE.format(command=command.command))
    return int(words[0])


async def grant(message: Message, command: CommandObject, roles: RoleService) -> None:
    assert message.from_user is not None
    target = target_id(command)
    # A stored admin granted "manager" would lose admin rights: leave admins alone.
    if await roles.is_admin(target):
        await message.answer(texts.already_admin(target))
        return
    done = await roles.grant(message.from_user.id, target, MANAGER)
    await message.answer(texts.granted(target) if done else texts.unknown_user(target))


async def revoke(message: Message, command: CommandObject, roles: RoleService) -> None:
    assert message.from_user is not None
    target = target_id(command)
    if await roles.is_admin(target):
        await message.answer(texts.already_admin(target))
        return
    if not await roles.grant(message.from_user.id, target, WORKER):
        await message.answer(texts.unknown_user(target))
    elif await roles.is_manager(target):  # named in the operator's settings: chat can't undo it
        await message.answer(texts.configured_manager(target))
    else:
        await message.answer(texts.revoked(target))


def build() -> Router:
    """A fresh router for one dispatcher; admins only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager(admin_only=True))
    router.callback_query.filter(IsManager(admin_only=True))
    router.message.register(grant, Command("grant"))
    router.message.register(revoke, Command("revoke"))
    return router
