"""The table of Bot API methods the sandbox implements (names are case-insensitive,
as in Telegram)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .params import Params
from .state import SandboxState

Handler = Callable[[SandboxState, Params], Awaitable[Any]]
METHODS: dict[str, Handler] = {}


def method(*names: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = fn
        return fn

    return register


def chat_id_of(params: Params) -> int | None:
    """chat_id as an int; "@channel" names and garbage resolve to no chat (400 chat not
    found), as for any chat the bot cannot see."""
    raw = params.values.get("chat_id")
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
