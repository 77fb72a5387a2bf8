"""All routers, in the order the dispatcher tries them (fallbacks last)."""

from collections.abc import Callable

from aiogram import Router

from bot.routers import (
    account,
    admin,
    appeal,
    errors,
    manager,
    manager_broadcast,
    manager_create,
    manager_export,
    manager_gold,
    manager_review,
    manager_rules,
    refusals,
    wallet,
    worker,
)

ROUTERS: tuple[Callable[[], Router], ...] = (
    admin.build,
    manager_create.build,
    manager.build,
    manager_export.build,
    manager_broadcast.build,
    manager_gold.build,
    manager_review.build,
    manager_rules.build,
    refusals.build,  # manager/admin commands from anyone else
    worker.build,
    account.build,
    appeal.build,
    wallet.build,
    errors.build,  # fallbacks: last
)


def build_routers() -> list[Router]:
    """Fresh routers for one dispatcher."""
    return [build() for build in ROUTERS]
