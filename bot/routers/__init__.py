"""All routers, in the order the dispatcher tries them (fallbacks last)."""

from aiogram import Router

from bot.routers import errors, worker

ROUTERS: tuple[Router, ...] = (worker.router, errors.router)
