"""Chats as a user sees them, in a flat JSON shape that is easy to assert on."""

from __future__ import annotations

from typing import Any

from .state import ChatRecord, StoredMessage


def message_view(stored: StoredMessage) -> dict[str, Any]:
    m = stored.message
    rows = (m.get("reply_markup") or {}).get("inline_keyboard", [])
    buttons = [
        [
            {k: b[k] for k in ("text", "callback_data", "url") if k in b}
            for b in row
        ]
        for row in rows
    ]
    document = m.get("document")
    reply_to = m.get("reply_to_message")
    return {
        "message_id": m["message_id"],
        "from_bot": stored.from_bot,
        "date": m["date"],
        "text": m.get("text"),
        "caption": m.get("caption"),
        "entities": m.get("entities") or m.get("caption_entities") or [],
        "photo": m["photo"][-1]["file_id"] if m.get("photo") else None,
        "document": (
            {"file_id": document["file_id"], "file_name": document.get("file_name")}
            if document
            else None
        ),
        "buttons": buttons,
        "edited": stored.edited,
        "reply_to_message_id": reply_to["message_id"] if reply_to else None,
    }


def chat_view(chat: ChatRecord, include_user: bool) -> dict[str, Any]:
    messages = [
        message_view(s)
        for s in chat.messages.values()
        if not s.deleted and (include_user or s.from_bot)
    ]
    keyboard = chat.reply_keyboard or {}
    return {
        "chat_id": chat.id,
        "version": chat.version,
        "blocked": chat.user.blocked,
        "messages": messages,
        "reply_keyboard": [[b["text"] for b in row] for row in keyboard.get("keyboard", [])],
    }
