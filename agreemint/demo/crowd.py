"""Simulated workers: Telegram users who answer through the sandbox with a known accuracy."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from agreemint.sandbox import ChatMessage, SandboxClient
from bot import texts

WAIT = 30.0


@dataclass
class SimWorker:
    user_id: int
    name: str
    profile: str
    accuracy: float  # probability of choosing the true label; the rest is uniform over others
    answers: int = 0
    correct: int = 0
    skipped: int = 0
    choices: list[tuple[str, str]] = field(default_factory=list)  # (item text, label)


def make_crowd(count: int) -> list[SimWorker]:
    """Careful to sloppy workers, plus a spammer who taps at random when there are four or more."""
    profiles = [("careful", 0.95), ("careful", 0.9), ("average", 0.8), ("average", 0.75),
                ("sloppy", 0.65), ("sloppy", 0.6)]
    crowd = []
    for n in range(count):
        profile, accuracy = profiles[n % len(profiles)]
        if count >= 4 and n == count - 1:
            profile, accuracy = "spammer", 1 / 3
        crowd.append(SimWorker(900_001 + n, f"Sim{n + 1}", profile, accuracy))
    return crowd


def _newer_than(message_id: int) -> Callable[[list[ChatMessage]], bool]:
    return lambda msgs: bool(msgs) and msgs[-1].message_id > message_id


def _item_text(message: ChatMessage, truth: dict[str, str]) -> str:
    return next((t for t in truth if t in message.content), "")


async def work(tg: SandboxClient, worker: SimWorker, truth: dict[str, str],
               rng: random.Random) -> None:
    """Start the bot and answer every task offered until the bot says nothing is left."""
    await tg.create_user(worker.user_id, worker.name)
    await tg.send_text(worker.user_id, "/start")
    [welcome] = await tg.wait_for(worker.user_id, 1, timeout=WAIT)
    await tg.press(worker.user_id, texts.NEXT_TASK)
    last = welcome.message_id
    while True:
        msgs = await tg.wait_for(worker.user_id, _newer_than(last), timeout=WAIT)
        task = msgs[-1]
        if texts.SKIP not in task.button_texts:
            return  # "nothing left"
        last = task.message_id
        text = _item_text(task, truth)
        options = [b for b in task.button_texts if b != texts.SKIP]
        right = truth.get(text, options[0])
        wrong = [o for o in options if o != right]
        label = right if rng.random() < worker.accuracy else rng.choice(wrong)
        button = task.button(label)
        assert button is not None and button.callback_data
        await tg.tap(worker.user_id, task.message_id, button.callback_data)
        worker.answers += 1
        worker.correct += label == right
        worker.choices.append((text, label))
