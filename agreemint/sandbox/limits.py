"""Flood limits and injected failures, applied to a call before it runs.

Rate limits are off by default so interactive tests stay deterministic; the broadcast
benchmark turns them on (or uses seeded random faults) to exercise retry_after handling.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from . import errors as E
from .errors import ApiError, forbidden, too_many_requests

# Calls that put a message into a chat; the ones Telegram's flood control counts.
SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
        "sendvideo",
        "sendaudio",
        "sendanimation",
        "sendsticker",
        "sendvoice",
    }
)


@dataclass
class LimitConfig:
    enabled: bool = False
    per_chat_rate: float = 1.0  # messages per second to one chat
    per_chat_burst: float = 3.0
    global_rate: float = 30.0  # messages per second overall
    global_burst: float = 30.0

    def update(self, changes: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise E.ControlError(f"unknown limit {key!r}")
            setattr(self, key, bool(value) if key == "enabled" else float(value))


@dataclass
class _Bucket:
    tokens: float
    stamp: float

    def take(self, rate: float, burst: float, at: float) -> float:
        """Takes a token; returns 0 on success, else seconds until one is available."""
        self.tokens = min(burst, self.tokens + (at - self.stamp) * rate)
        self.stamp = at
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate if rate > 0 else 60.0


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = LimitConfig()
        self.clock = clock
        self._global: _Bucket | None = None
        self._chats: dict[int, _Bucket] = {}

    def reset(self) -> None:
        self.config = LimitConfig()
        self._global, self._chats = None, {}

    def check(self, method: str, chat_id: int | None) -> None:
        cfg = self.config
        if not cfg.enabled or method not in SEND_METHODS:
            return
        at = self.clock()
        if self._global is None:
            self._global = _Bucket(cfg.global_burst, at)
        chat = None
        if chat_id is not None:
            chat = self._chats.setdefault(chat_id, _Bucket(cfg.per_chat_burst, at))
        # Peek both before taking so a refused call does not consume the other bucket.
        wait = _peek(self._global, cfg.global_rate, cfg.global_burst, at)
        if chat is not None:
            wait = max(wait, _peek(chat, cfg.per_chat_rate, cfg.per_chat_burst, at))
        if wait > 0:
            raise too_many_requests(math.ceil(wait))
        self._global.take(cfg.global_rate, cfg.global_burst, at)
        if chat is not None:
            chat.take(cfg.per_chat_rate, cfg.per_chat_burst, at)


def _peek(bucket: _Bucket, rate: float, burst: float, at: float) -> float:
    tokens = min(burst, bucket.tokens + (at - bucket.stamp) * rate)
    return 0.0 if tokens >= 1 else (1 - tokens) / rate if rate > 0 else 60.0


@dataclass
class Fault:
    method: str | None  # lower-case method name; None matches any method
    error_code: int
    description: str
    retry_after: int | None = None
    chat_id: int | None = None
    times: int = 1

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or self.chat_id == chat_id


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: " + E.BLOCKED,
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def make_fault(
    method: str | None,
    error_code: int,
    description: str | None = None,
    retry_after: int | None = None,
    chat_id: int | None = None,
    times: int = 1,
) -> Fault:
    if error_code == 429 and retry_after is None:
        retry_after = 1
    if description is None:
        description = (
            f"Too Many Requests: retry after {retry_after}"
            if error_code == 429
            else _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        )
    return Fault(
        method.lower() if method else None,
        error_code,
        description,
        retry_after,
        chat_id,
        max(1, times),
    )


@dataclass
class RandomFaults:
    """Seeded per-send failures for load and broadcast experiments."""

    seed: int = 0
    p429: float = 0.0
    p403: float = 0.0
    retry_after: int = 1
    block_on_403: bool = True  # a 403 means the user blocked the bot, so it sticks
    methods: frozenset[str] = SEND_METHODS
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, method: str) -> ApiError | None:
        if method not in self.methods:
            return None
        x = self.rng.random()
        if x < self.p429:
            return too_many_requests(self.retry_after)
        if x < self.p429 + self.p403:
            error = forbidden(E.BLOCKED)
            error.block_user = self.block_on_403
            return error
        return None


class FaultInjector:
    def __init__(self) -> None:
        self.queue: list[Fault] = []
        self.random: RandomFaults | None = None

    def reset(self) -> None:
        self.queue, self.random = [], None

    def take(self, method: str, chat_id: int | None) -> ApiError | None:
        for fault in self.queue:
            if fault.matches(method, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self.queue.remove(fault)
                return ApiError(fault.error_code, fault.description, fault.retry_after)
        if self.random is not None:
            return self.random.roll(method)
        return None
