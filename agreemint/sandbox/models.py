"""What the control client hands back: chat messages and buttons as a user sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SandboxError(Exception):
    """The sandbox refused a control request (unknown user, no such button, ...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ChatMessage:
    """One message as the user sees it now."""

    message_id: int
    from_bot: bool
    date: int
    text: str | None
    caption: str | None
    entities: list[dict[str, Any]]
    photo: str | None  # file_id of the largest size
    document: dict[str, Any] | None  # {"file_id", "file_name"}
    buttons: list[list[Button]]
    edited: bool
    reply_to_message_id: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChatMessage:
        rows = [[Button(**b) for b in row] for row in data.get("buttons", [])]
        return cls(**{**data, "buttons": rows})

    @property
    def content(self) -> str:
        """The text or the caption (whichever the message has)."""
        return self.text or self.caption or ""

    @property
    def button_texts(self) -> list[str]:
        return [b.text for row in self.buttons for b in row]

    def button(self, text: str) -> Button | None:
        return next((b for row in self.buttons for b in row if b.text == text), None)

    def entity_texts(self, kind: str) -> list[str]:
        """The text under each entity of `kind` ("pre", "code", "bold", ...), as the user would
        copy it. Telegram's offsets count UTF-16 code units, not characters."""
        units = self.content.encode("utf-16-le")
        return [
            units[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
            for e in self.entities
            if e.get("type") == kind
        ]
