"""parse_mode=HTML as Telegram applies it: tags become entities, the text loses its tags.

Telegram rejects malformed markup with 400 "can't parse entities", which is the bug class
worth catching in tests (an unescaped label, an unclosed tag). Offsets are UTF-16 code
units, as in the real API.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from .errors import ApiError, bad_request

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?>")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _EntityParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.length = 0  # UTF-16 length of the text so far
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _fail(self, reason: str) -> ApiError:
        line, col = self.getpos()
        lines = self.source.split("\n")
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + col
        byte_offset = len(self.source[:offset].encode("utf-8"))
        return bad_request(f"can't parse entities: {reason} at byte offset {byte_offset}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        entity: dict[str, Any]
        if tag in _SIMPLE:
            entity = {"type": _SIMPLE[tag]}
            if tag == "blockquote" and "expandable" in attr:
                entity["type"] = "expandable_blockquote"
        elif tag == "span" and attr.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "a" and attr.get("href"):
            entity = {"type": "text_link", "url": attr["href"]}
        elif tag == "tg-emoji" and attr.get("emoji-id"):
            entity = {"type": "custom_emoji", "custom_emoji_id": attr["emoji-id"]}
        else:
            raise self._fail(f'Unsupported start tag "{tag}"')
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = attr.get("class", "").removeprefix("language-")
            if language:
                self.stack[-1][2]["language"] = language
        self.stack.append((tag, self.length, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self._fail(f'Unexpected end tag "{tag}"')
        open_tag, start, entity = self.stack.pop()
        if open_tag != tag:
            raise self._fail(f'Unmatched end tag "{tag}", expected "</{open_tag}>"')
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Returns (plain text, entities); raises 400 "can't parse entities" like Telegram."""
    for found in re.finditer("<", source):
        # Telegram wants every literal "<" escaped; a stray one is the classic bug of
        # interpolating a raw label into an HTML message.
        if not _TAG.match(source, found.start()):
            offset = len(source[: found.start()].encode("utf-8"))
            raise bad_request(
                f"can't parse entities: Unexpected \"<\" or unclosed tag at byte offset {offset}"
            )
    parser = _EntityParser(source)
    parser.feed(source)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise bad_request(
            f'can\'t parse entities: Can\'t find end tag corresponding to start tag "{tag}"'
        )
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities


def apply_parse_mode(
    text: str, parse_mode: str | None, entities: Any
) -> tuple[str, list[dict[str, Any]] | None]:
    """Text as the chat will show it, plus entities (explicit ones win over parse_mode)."""
    if isinstance(entities, list) and entities:
        return text, entities
    if parse_mode and parse_mode.upper() == "HTML":
        plain, found = parse_html(text)
        return plain, found or None
    # Markdown modes are passed through untouched: the bot uses HTML.
    return text, None


def command_entities(text: str) -> list[dict[str, Any]] | None:
    """bot_command entities for "/start" style words, as Telegram adds to user messages."""
    found: list[dict[str, Any]] = []
    offset = 0
    for word in text.split(" "):
        if len(word) > 1 and word.startswith("/") and (word[1].isalpha()):
            found.append({"type": "bot_command", "offset": offset, "length": utf16_len(word)})
        offset += utf16_len(word) + 1
    return found or None
