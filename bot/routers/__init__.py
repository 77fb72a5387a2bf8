"""All routers, in the order the dispatcher tries them (fallbacks last)."""

from collections.abc import Callable

from aiogram import Router

from bot.routers import errors, wallet, worker

ROUTERS: tuple[Callable[[], Router], ...] = (worker.build, wallet.build, errors.build)


def build_routers() -> list[Router]:
    """Fresh routers for one dispatcher."""
    return [build() for build in ROUTERS]
