"""Workers: linking an Ethereum wallet by signing a Sign-In with Ethereum message."""

from __future__ import annotations

from aiogram import F, Router


def build() -> Router:
    """A fresh router for one dispatcher."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    return router
