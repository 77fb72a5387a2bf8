"""Everything the fake Telegram remembers: users, chats, messages, files, updates, calls.

All mutation happens on one event loop without awaits in between, so no locks are needed;
waiters (long polls, webhook delivery, control-API waits) sleep on one change signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from .errors import bad_request, forbidden
from .objects import UserRecord, now, private_chat_json, user_json

# Telegram sends these unless asked for more via allowed_updates.
DEFAULT_UPDATE_TYPES = frozenset(
    {"message", "edited_message", "callback_query", "my_chat_member", "inline_query"}
)


class Signal:
    """Wake every waiter on any change; a waiter that checks then waits misses nothing
    because checking and grabbing the event happen without an await in between."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


@dataclass
class StoredMessage:
    message: dict[str, Any]  # the full Message object as the bot last saw it
    from_bot: bool
    deleted: bool = False
    edited: bool = False


@dataclass
class ChatRecord:
    user: UserRecord
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    version: int = 0
    reply_keyboard: dict[str, Any] | None = None  # the custom keyboard the user now sees

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    data: bytes
    path: str
    kind: str  # "photo", "document"
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class QueuedUpdate:
    update_id: int
    payload: dict[str, Any]
    redelivery: bool = False  # a simulated duplicate: served even below the offset
    served: bool = False


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    message_id: int | None
    data: str | None
    answered: bool = False
    answer: dict[str, Any] | None = None


@dataclass
class CallRecord:
    seq: int
    method: str
    params: dict[str, Any]
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    time: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "params": self.params,
            "ok": self.ok,
            "result": self.result,
            "error_code": self.error_code,
            "description": self.description,
            "time": self.time,
        }


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


class SandboxState:
    def __init__(self, bot: UserRecord, first_update_id: int = 1000) -> None:
        self.bot = bot
        self.signal = Signal()
        self.closing = False
        self._update_ids = itertools.count(first_update_id)
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.poll_generation = 0  # a newer getUpdates ends an older one with 409
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.clear()

    def clear(self) -> None:
        """Forget users, chats, files, updates and logs; keep identity, webhook and ids
        (a running bot's offset must stay valid across a reset)."""
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self.pending: list[QueuedUpdate] = []
        self.history: dict[int, dict[str, Any]] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.calls: list[CallRecord] = []
        self._seq = itertools.count(1)
        self.changed()

    def changed(self, chat: ChatRecord | None = None) -> None:
        if chat is not None:
            chat.version += 1
        self.signal.notify()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Waits until predicate() holds (True), `seconds` pass or the server stops (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, seconds)
        while not predicate():
            remaining = deadline - loop.time()
            if self.closing or remaining <= 0:
                return False
            await self.signal.wait(remaining)
        return True

    def next_seq(self) -> int:
        return next(self._seq)

    # -- users and chats ---------------------------------------------------------------

    def add_user(self, user: UserRecord) -> ChatRecord:
        existing = self.chats.get(user.id)
        if existing is not None:  # re-creating updates the profile, keeps the chat
            user.blocked, user.started = existing.user.blocked, existing.user.started
            existing.user = user
            self.users[user.id] = user
            return existing
        self.users[user.id] = user
        chat = ChatRecord(user)
        self.chats[user.id] = chat
        self.changed(chat)
        return chat

    def user(self, user_id: int) -> UserRecord:
        try:
            return self.users[user_id]
        except KeyError:
            raise E.ControlError(f"unknown user {user_id}", 404) from None

    def chat_for_bot(self, chat_id: int | None, sending: bool = True) -> ChatRecord:
        """The chat a bot call addresses, with Telegram's 400/403 for bad targets."""
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request(E.CHAT_NOT_FOUND)
        if sending and chat.user.blocked:
            raise forbidden(E.BLOCKED)
        if sending and not chat.user.started:
            raise forbidden(E.CANT_INITIATE)
        return chat

    def new_message(
        self, chat: ChatRecord, sender: UserRecord, content: dict[str, Any]
    ) -> StoredMessage:
        message = {
            "message_id": chat.next_message_id,
            "from": user_json(sender),
            "chat": private_chat_json(chat.user),
            "date": now(),
            **content,
        }
        chat.next_message_id += 1
        stored = StoredMessage(message, from_bot=sender.is_bot)
        chat.messages[message["message_id"]] = stored
        self.changed(chat)
        return stored

    # -- updates -----------------------------------------------------------------------

    def add_update(self, kind: str, body: dict[str, Any]) -> int | None:
        """Queues an update; types the bot did not subscribe to are dropped like Telegram
        drops them. Returns the update_id (None if dropped)."""
        if kind not in self.allowed_updates:
            return None
        update_id = next(self._update_ids)
        payload = {"update_id": update_id, kind: body}
        self.history[update_id] = payload
        self.pending.append(QueuedUpdate(update_id, payload))
        self.changed()
        return update_id

    def redeliver(self, update_id: int) -> None:
        payload = self.history.get(update_id)
        if payload is None:
            raise E.ControlError(f"unknown update {update_id}", 404)
        self.pending.append(QueuedUpdate(update_id, payload, redelivery=True))
        self.changed()

    def confirm(self, offset: int | None) -> None:
        """getUpdates offset semantics: ids below a positive offset are forgotten; a
        negative offset keeps only the last -offset updates."""
        kept = [u for u in self.pending if not (u.redelivery and u.served)]
        if offset is not None and offset > 0:
            kept = [u for u in kept if u.redelivery or u.update_id >= offset]
        elif offset is not None and offset < 0:
            kept = kept[offset:]
        if len(kept) != len(self.pending):
            self.pending = kept
            self.changed()

    def set_allowed_updates(self, value: Any) -> None:
        if isinstance(value, list) and value:
            self.allowed_updates = frozenset(str(v) for v in value)
        elif isinstance(value, list):
            self.allowed_updates = DEFAULT_UPDATE_TYPES
