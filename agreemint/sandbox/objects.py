"""Complete Bot API objects as JSON dicts.

Clients validate results strictly (aiogram through pydantic), so every object carries all
of its required fields: `User.is_bot`, `Message.date` in seconds, `Message.chat`,
`CallbackQuery.chat_instance`, and so on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    blocked: bool = False  # this user has blocked the bot
    started: bool = False  # has written to the bot at least once


def now() -> int:
    return int(time.time())


def user_json(user: UserRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.id, "is_bot": user.is_bot, "first_name": user.first_name}
    if user.last_name:
        out["last_name"] = user.last_name
    if user.username:
        out["username"] = user.username
    if user.language_code and not user.is_bot:
        out["language_code"] = user.language_code
    return out


def bot_me_json(bot: UserRecord) -> dict[str, Any]:
    return {
        **user_json(bot),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def private_chat_json(user: UserRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": user.id, "type": "private", "first_name": user.first_name}
    if user.last_name:
        out["last_name"] = user.last_name
    if user.username:
        out["username"] = user.username
    return out


def chat_full_info_json(user: UserRecord) -> dict[str, Any]:
    return {
        **private_chat_json(user),
        "accent_color_id": user.id % 7,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


def chat_instance(bot_id: int, chat_id: int) -> str:
    """Stable per (bot, chat), opaque like Telegram's."""
    return str((chat_id * 2654435761 + bot_id * 40503) % (2**62))


def chat_member_json(user: UserRecord, status: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "user": user_json(user)}
    if status == "kicked":
        out["until_date"] = 0
    return out


def inaccessible_message_json(chat: dict[str, Any], message_id: int) -> dict[str, Any]:
    return {"chat": chat, "message_id": message_id, "date": 0}
