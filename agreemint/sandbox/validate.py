"""Telegram's size limits and keyboard rules, checked before anything is stored."""

from __future__ import annotations

from typing import Any

from . import errors as E
from .errors import bad_request
from .formatting import apply_parse_mode

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes, not characters
MAX_CALLBACK_ANSWER = 200
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def message_text(
    text: str | None, parse_mode: str | None, entities: Any
) -> tuple[str, list[dict[str, Any]] | None]:
    plain, found = apply_parse_mode(text or "", parse_mode, entities)
    if not plain.strip():
        raise bad_request(E.TEXT_EMPTY)
    if len(plain) > MAX_TEXT:
        raise bad_request(E.TEXT_TOO_LONG)
    return plain, found


def caption(
    text: str | None, parse_mode: str | None, entities: Any
) -> tuple[str | None, list[dict[str, Any]] | None]:
    if not text:
        return None, None
    plain, found = apply_parse_mode(text, parse_mode, entities)
    if len(plain) > MAX_CAPTION:
        raise bad_request(E.CAPTION_TOO_LONG)
    return plain or None, found


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if len(actions) != 1:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request(E.BUTTON_DATA_INVALID)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request("BUTTON_URL_INVALID")
    return dict(button)


def _rows(markup: dict[str, Any], key: str) -> list[list[Any]]:
    rows = markup.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(f"field \"{key}\" must be an Array of Arrays")
    return rows


def reply_markup(markup: Any) -> tuple[str, dict[str, Any]] | None:
    """Normalizes a reply_markup; returns (kind, markup) with kind "inline", "reply",
    "remove" or "force_reply"; None when absent."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = _rows(markup, "inline_keyboard")
        return "inline", {"inline_keyboard": [[_inline_button(b) for b in row] for row in rows]}
    if "keyboard" in markup:
        rows = _rows(markup, "keyboard")
        norm = [[b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows]
        if any(not b.get("text") for row in norm for b in row):
            raise bad_request("keyboard button text must be non-empty")
        return "reply", {**markup, "keyboard": norm}
    if markup.get("remove_keyboard"):
        return "remove", markup
    if markup.get("force_reply"):
        return "force_reply", markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def callback_answer_text(text: str | None) -> None:
    if text is not None and len(text) > MAX_CALLBACK_ANSWER:
        raise bad_request("MESSAGE_TOO_LONG")
