"""Managers: announcing a campaign to workers, with a live status message."""

from __future__ import annotations

from aiogram import Router

from bot.filters import IsManager


def build() -> Router:
    """A fresh router for one dispatcher; managers only (others reach the refusals router)."""
    router = Router(name=__name__)
    router.message.filter(IsManager())
    router.callback_query.filter(IsManager())
    return router
