"""sendMessage, sendPhoto, sendDocument, sendChatAction: new messages in a chat."""

from __future__ import annotations

import copy
from typing import Any

from . import validate
from .errors import bad_request
from .files import document_json, photo_sizes, resolve_input
from .params import Params
from .registry import chat_id_of, method
from .state import ChatRecord, SandboxState

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def attach_markup(chat: ChatRecord, params: Params, content: dict[str, Any]) -> None:
    """Inline keyboards belong to the message; reply keyboards replace what the user's
    keyboard shows until removed."""
    parsed = validate.reply_markup(params.get_json("reply_markup"))
    if parsed is None:
        return
    kind, markup = parsed
    if kind == "inline":
        content["reply_markup"] = markup
    elif kind == "reply":
        chat.reply_keyboard = markup
    elif kind == "remove":
        chat.reply_keyboard = None


def attach_reply(chat: ChatRecord, params: Params, content: dict[str, Any]) -> None:
    target = params.get_json("reply_parameters")
    if not isinstance(target, dict) and params.has("reply_to_message_id"):
        target = {"message_id": params.get_int("reply_to_message_id")}
    if not isinstance(target, dict):
        return
    stored = chat.messages.get(int(target.get("message_id") or 0))
    if stored is not None and not stored.deleted:
        replied = copy.deepcopy(stored.message)
        replied.pop("reply_to_message", None)  # Telegram nests only one level
        content["reply_to_message"] = replied
    elif not target.get("allow_sending_without_reply"):
        raise bad_request("message to be replied not found")


def _finish(
    state: SandboxState, chat: ChatRecord, params: Params, content: dict[str, Any]
) -> dict[str, Any]:
    attach_markup(chat, params, content)
    attach_reply(chat, params, content)
    return state.new_message(chat, state.bot, content).message


def _caption(params: Params, content: dict[str, Any]) -> None:
    text, entities = validate.caption(
        params.get_str("caption"), params.get_str("parse_mode"), params.get_json("caption_entities")
    )
    if text is not None:
        content["caption"] = text
    if entities:
        content["caption_entities"] = entities


@method("sendMessage")
async def send_message(state: SandboxState, params: Params) -> Any:
    chat = state.chat_for_bot(chat_id_of(params))
    text, entities = validate.message_text(
        params.get_str("text"), params.get_str("parse_mode"), params.get_json("entities")
    )
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return _finish(state, chat, params, content)


@method("sendPhoto")
async def send_photo(state: SandboxState, params: Params) -> Any:
    chat = state.chat_for_bot(chat_id_of(params))
    content: dict[str, Any] = {}
    _caption(params, content)
    record = resolve_input(state, params, "photo", "photo")
    content["photo"] = photo_sizes(state, record)
    if params.get_bool("has_spoiler"):
        content["has_media_spoiler"] = True
    return _finish(state, chat, params, content)


@method("sendDocument")
async def send_document(state: SandboxState, params: Params) -> Any:
    chat = state.chat_for_bot(chat_id_of(params))
    content: dict[str, Any] = {}
    _caption(params, content)
    record = resolve_input(state, params, "document", "document")
    content["document"] = document_json(record)
    return _finish(state, chat, params, content)


@method("sendChatAction")
async def send_chat_action(state: SandboxState, params: Params) -> Any:
    state.chat_for_bot(chat_id_of(params))
    if params.get_str("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True
