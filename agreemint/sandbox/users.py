"""What simulated users do: write, send photos, tap buttons, block the bot.

Each action builds the update Telegram would send, complete with the full message a
button sits on, and queues it for getUpdates or the webhook.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from .errors import ControlError
from .files import document_json, photo_sizes, store
from .formatting import command_entities
from .objects import (
    UserRecord,
    chat_instance,
    chat_member_json,
    inaccessible_message_json,
    now,
    private_chat_json,
    user_json,
)
from .state import CallbackRecord, ChatRecord, SandboxState, StoredMessage

_query_ids = itertools.count(1)


def _chat(state: SandboxState, user_id: int) -> ChatRecord:
    state.user(user_id)
    return state.chats[user_id]


def _speak(state: SandboxState, chat: ChatRecord, content: dict[str, Any]) -> dict[str, Any]:
    user = chat.user
    # Writing to a bot you blocked goes through Telegram's "Restart bot", which unblocks.
    if user.blocked:
        set_blocked(state, user.id, False)
    user.started = True
    stored = state.new_message(chat, user, content)
    update_id = state.add_update("message", copy.deepcopy(stored.message))
    return {"update_id": update_id, "message_id": stored.message["message_id"]}


def send_text(state: SandboxState, user_id: int, text: str) -> dict[str, Any]:
    if not text:
        raise ControlError("text must be non-empty")
    content: dict[str, Any] = {"text": text}
    entities = command_entities(text)
    if entities:
        content["entities"] = entities
    return _speak(state, _chat(state, user_id), content)


def send_photo(
    state: SandboxState,
    user_id: int,
    data: bytes | None = None,
    file_id: str | None = None,
    caption: str | None = None,
) -> dict[str, Any]:
    if file_id is not None:
        record = state.files.get(file_id)
        if record is None:
            raise ControlError(f"unknown file_id {file_id}", 404)
    else:
        record = store(state, data or b"", "photo")
    content: dict[str, Any] = {"photo": photo_sizes(state, record)}
    if caption:
        content["caption"] = caption
    return _speak(state, _chat(state, user_id), content)


def send_document(
    state: SandboxState,
    user_id: int,
    data: bytes,
    file_name: str,
    mime_type: str | None = None,
    caption: str | None = None,
) -> dict[str, Any]:
    """The user sends a file (as a document, the way managers upload item files)."""
    if not file_name:
        raise ControlError("file_name must be non-empty")
    record = store(state, data, "document", file_name, mime_type)
    content: dict[str, Any] = {"document": document_json(record)}
    if caption:
        content["caption"] = caption
    return _speak(state, _chat(state, user_id), content)


def _has_button(stored: StoredMessage, data: str) -> bool:
    rows = (stored.message.get("reply_markup") or {}).get("inline_keyboard", [])
    return any(button.get("callback_data") == data for row in rows for button in row)


def tap(
    state: SandboxState, user_id: int, message_id: int, data: str, force: bool = False
) -> dict[str, Any]:
    """A tap on an inline button. Without force the button must be on the message now,
    as in a real client; force sends stale or forged data the way a modified client can."""
    chat = _chat(state, user_id)
    stored = chat.messages.get(message_id)
    visible = stored is not None and not stored.deleted
    if not force:
        if not visible:
            raise ControlError(f"message {message_id} is not in chat {user_id}")
        assert stored is not None
        if not _has_button(stored, data):
            raise ControlError(f"message {message_id} has no button with data {data!r} now")
    query_id = f"{state.bot.id % 10**6}{next(_query_ids):012d}"
    if visible and stored is not None:
        message = copy.deepcopy(stored.message)
    else:
        message = inaccessible_message_json(private_chat_json(chat.user), message_id)
    body = {
        "id": query_id,
        "from": user_json(chat.user),
        "message": message,
        "chat_instance": chat_instance(state.bot.id, chat.id),
        "data": data,
    }
    state.callbacks[query_id] = CallbackRecord(query_id, user_id, message_id, data)
    update_id = state.add_update("callback_query", body)
    return {"update_id": update_id, "callback_query_id": query_id}


def press(state: SandboxState, user_id: int, text: str) -> dict[str, Any]:
    """Presses the button labelled `text`: an inline callback button on the newest
    message showing one, else a key of the user's reply keyboard (which sends its text)."""
    chat = _chat(state, user_id)
    for stored in reversed(list(chat.messages.values())):
        if stored.deleted or not stored.from_bot:
            continue
        rows = (stored.message.get("reply_markup") or {}).get("inline_keyboard", [])
        for row in rows:
            for button in row:
                if button.get("text") == text and "callback_data" in button:
                    message_id = stored.message["message_id"]
                    return tap(state, user_id, message_id, button["callback_data"])
    keyboard = chat.reply_keyboard or {}
    if any(b.get("text") == text for row in keyboard.get("keyboard", []) for b in row):
        return send_text(state, user_id, text)
    raise ControlError(f"no button {text!r} in chat {user_id}")


def set_blocked(state: SandboxState, user_id: int, blocked: bool) -> dict[str, Any]:
    """Blocks or unblocks the bot; Telegram tells the bot with a my_chat_member update."""
    user = state.user(user_id)
    if user.blocked == blocked:
        return {"update_id": None}
    user.blocked = blocked
    old, new = ("member", "kicked") if blocked else ("kicked", "member")
    body = {
        "chat": private_chat_json(user),
        "from": user_json(user),
        "date": now(),
        "old_chat_member": chat_member_json(state.bot, old),
        "new_chat_member": chat_member_json(state.bot, new),
    }
    update_id = state.add_update("my_chat_member", body)
    state.changed(state.chats.get(user_id))
    return {"update_id": update_id}


def create_user(state: SandboxState, spec: dict[str, Any]) -> dict[str, Any]:
    try:
        user = UserRecord(
            id=int(spec["user_id"]),
            first_name=str(spec.get("first_name") or f"User{spec['user_id']}"),
            last_name=spec.get("last_name"),
            username=spec.get("username"),
            language_code=spec.get("language_code", "en"),
            started=bool(spec.get("started", False)),
        )
    except (KeyError, TypeError, ValueError):
        raise ControlError("user_id (int) is required") from None
    if user.id <= 0:
        raise ControlError("user_id must be positive (private chats)")
    state.add_user(user)
    return user_json(user)


def duplicate_last_update(state: SandboxState, user_id: int) -> dict[str, Any]:
    """Queues the user's newest update again, with the same update_id, the way Telegram
    re-delivers when a bot did not confirm it."""
    for update_id in sorted(state.history, reverse=True):
        payload = state.history[update_id]
        body = next(v for k, v in payload.items() if k != "update_id")
        if (body.get("from") or {}).get("id") == user_id:
            state.redeliver(update_id)
            return {"update_id": update_id}
    raise ControlError(f"user {user_id} has no updates")
