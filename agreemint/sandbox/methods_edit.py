"""Changing what a chat shows: edits, deletions, and answering callback queries."""

from __future__ import annotations

from typing import Any

from . import errors as E
from . import validate
from .errors import bad_request, forbidden
from .objects import now
from .params import Params
from .registry import chat_id_of, method
from .state import ChatRecord, SandboxState, StoredMessage


def _target(state: SandboxState, params: Params, missing: str) -> tuple[ChatRecord, StoredMessage]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # the bot sends no inline-mode messages
    chat = state.chat_for_bot(chat_id_of(params), sending=False)
    if chat.user.blocked:
        raise forbidden(E.BLOCKED)
    stored = chat.messages.get(params.get_int("message_id") or 0)
    if stored is None or stored.deleted:
        raise bad_request(missing)
    return chat, stored


def _inline_markup(params: Params) -> dict[str, Any] | None:
    parsed = validate.reply_markup(params.get_json("reply_markup"))
    if parsed is None:
        return None
    kind, markup = parsed
    if kind != "inline":
        raise bad_request("inline keyboard expected")
    return markup


def _apply(
    state: SandboxState, chat: ChatRecord, stored: StoredMessage, changes: dict[str, Any]
) -> dict[str, Any]:
    """Applies changes (None removes a field); Telegram refuses an edit that changes
    nothing with "message is not modified"."""
    message = stored.message
    if all(message.get(key) == value for key, value in changes.items()):
        raise bad_request(E.NOT_MODIFIED)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = now()
    stored.edited = True
    state.changed(chat)
    return message


def _editable(stored: StoredMessage) -> None:
    if not stored.from_bot:
        raise bad_request(E.MESSAGE_CANT_BE_EDITED)


@method("editMessageText")
async def edit_message_text(state: SandboxState, params: Params) -> Any:
    chat, stored = _target(state, params, E.MESSAGE_TO_EDIT_NOT_FOUND)
    _editable(stored)
    if "text" not in stored.message:
        raise bad_request("there is no text in the message to edit")
    text, entities = validate.message_text(
        params.get_str("text"), params.get_str("parse_mode"), params.get_json("entities")
    )
    # Like Telegram: an edit without reply_markup drops the inline keyboard.
    changes = {"text": text, "entities": entities, "reply_markup": _inline_markup(params)}
    return _apply(state, chat, stored, changes)


@method("editMessageCaption")
async def edit_message_caption(state: SandboxState, params: Params) -> Any:
    chat, stored = _target(state, params, E.MESSAGE_TO_EDIT_NOT_FOUND)
    _editable(stored)
    if "text" in stored.message:
        raise bad_request("there is no caption in the message to edit")
    text, entities = validate.caption(
        params.get_str("caption"), params.get_str("parse_mode"), params.get_json("caption_entities")
    )
    changes = {
        "caption": text,
        "caption_entities": entities,
        "reply_markup": _inline_markup(params),
    }
    return _apply(state, chat, stored, changes)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(state: SandboxState, params: Params) -> Any:
    chat, stored = _target(state, params, E.MESSAGE_TO_EDIT_NOT_FOUND)
    _editable(stored)
    return _apply(state, chat, stored, {"reply_markup": _inline_markup(params)})


@method("deleteMessage")
async def delete_message(state: SandboxState, params: Params) -> Any:
    # In private chats a bot may delete both its own and the user's messages.
    chat, stored = _target(state, params, E.MESSAGE_TO_DELETE_NOT_FOUND)
    stored.deleted = True
    state.changed(chat)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(state: SandboxState, params: Params) -> Any:
    query = state.callbacks.get(params.get_str("callback_query_id") or "")
    if query is None or query.answered:
        raise bad_request(E.QUERY_TOO_OLD)
    text = params.get_str("text")
    validate.callback_answer_text(text)
    query.answered = True
    query.answer = {
        "callback_query_id": query.id,
        "text": text,
        "show_alert": params.get_bool("show_alert"),
        "url": params.get_str("url"),
        "cache_time": params.get_int("cache_time", 0),
    }
    state.changed(state.chats.get(query.user_id))
    return True
