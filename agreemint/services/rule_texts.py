"""What the rules tell a worker: which rule, what was measured, what happens, what to do.

Each builder returns (message, reason): the message is the chat reply; the reason is the short
text stored where it takes effect (an answer's flag, a pause or removal reason, a ledger entry's
withholding reason) and shown again later, e.g. "paused by the rule “fast streak” (...)".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from agreemint.money import format_tokens

WARN, PAUSE, REMOVE, WITHHOLD, LIMIT = "warn", "pause", "remove", "withhold", "limit"


@dataclass(frozen=True, slots=True)
class Firing:
    """One rule that fired: its action, what it measured, the message and the stored reason."""

    rule: str
    action: str  # warn | pause | remove | withhold | limit
    measured: float
    message: str
    reason: str
    until: datetime | None = None  # end of a pause


@dataclass(frozen=True, slots=True)
class Blocks:
    """Where the worker can't get tasks now: per campaign id, and everywhere (sybil limit)."""

    campaigns: Mapping[int, str] = field(default_factory=dict)
    everywhere: str | None = None

    def describe(self, names: Mapping[int, str]) -> str | None:
        """Why the worker gets no task, to show them (None when nothing is blocked)."""
        if self.everywhere:
            return f"You can't get tasks right now: {self.everywhere}."
        if not self.campaigns:
            return None
        lines = [f"• “{names.get(cid, f'#{cid}')}”: {why}" for cid, why in self.campaigns.items()]
        return "You can't get tasks in these campaigns right now:\n" + "\n".join(lines)

TITLES = {
    "gold_accuracy": "gold accuracy",
    "too_fast": "too fast",
    "fast_streak": "fast streak",
    "same_button": "same button",
    "skips_in_row": "skips in a row",
    "daily_answers": "daily answers",
    "daily_earnings": "daily earnings",
    "limited_account": "new account limit",
}

Text = tuple[str, str]


def _head(rule: str) -> str:
    return f"Rule “{TITLES[rule]}”:"


def _by(rule: str, what: str, detail: str) -> str:
    return f"{what} by the rule “{TITLES[rule]}” ({detail})"


def _answers(count: int) -> str:
    return "1 answer" if count == 1 else f"{count} answers"


def duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def too_fast(seconds: float, minimum: float) -> Text:
    reason = f"answered in {seconds:.1f} s; the minimum for this campaign is {minimum:g} s"
    return (
        f"{_head('too_fast')} you answered in {seconds:.1f} s; the minimum here is {minimum:g} s. "
        "This answer earns nothing. Read each task fully before you answer.",
        reason,
    )


def fast_streak(fast: int, window: int, minimum: float, campaign: str, minutes: int) -> Text:
    return (
        f"{_head('fast_streak')} {fast} of your last {window} answers came faster than "
        f"{minimum:g} s. You're paused in “{campaign}” for {duration(minutes)}. Take the time "
        "to read each task; careful answers keep you in.",
        _by("fast_streak", "paused", f"{fast} of {window} answers faster than {minimum:g} s"),
    )


def same_button_warning(run: int, label: str, campaign: str, pause_at: int, minutes: int) -> Text:
    then = (f"at {pause_at} in a row you'll be paused in “{campaign}” for {duration(minutes)}"
            if pause_at > run else "keep it up and you may be paused")
    return (
        f"{_head('same_button')} your last {run} answers were all “{label}”. This is a warning: "
        f"{then}. Read each task and answer what you see.",
        _by("same_button", "warned", f"{run} identical answers in a row"),
    )


def same_button_pause(run: int, label: str, campaign: str, minutes: int) -> Text:
    return (
        f"{_head('same_button')} your last {run} answers were all “{label}”. You're paused in "
        f"“{campaign}” for {duration(minutes)}. Read each task and answer what you see; "
        "varied, careful answers keep you in.",
        _by("same_button", "paused", f"{run} identical answers in a row"),
    )


def skips_in_row(run: int, campaign: str, minutes: int) -> Text:
    return (
        f"{_head('skips_in_row')} you skipped {run} tasks in a row in “{campaign}”. You're "
        f"paused there for {duration(minutes)}. Skip only what you can't judge; answering the "
        "tasks you can keeps you in.",
        _by("skips_in_row", "paused", f"{run} skips in a row"),
    )


def daily_answers(count: int, campaign: str, until: datetime) -> Text:
    return (
        f"{_head('daily_answers')} you gave {count} answers today in “{campaign}”, the daily "
        f"maximum. You're paused there until {until:%Y-%m-%d %H:%M} UTC (midnight). Come back "
        "then; other campaigns stay open to you.",
        _by("daily_answers", "paused", f"daily maximum of {count} answers reached"),
    )


def daily_earnings(earned: int, cap: int, campaign: str, until: datetime) -> Text:
    return (
        f"{_head('daily_earnings')} your rewards today in “{campaign}” reached "
        f"{format_tokens(earned, 'tokens')}, the daily maximum of {format_tokens(cap, 'tokens')}. "
        f"You're paused there until {until:%Y-%m-%d %H:%M} UTC (midnight). Come back then; "
        "other campaigns stay open to you.",
        _by("daily_earnings", "paused",
            f"daily maximum of {format_tokens(cap, 'tokens')} reached"),
    )


def gold_accuracy(right: int, answered: int, minimum: float, campaign: str,
                  appeal_hours: int) -> Text:
    return (
        f"{_head('gold_accuracy')} you got {right} of your last {answered} hidden check "
        f"questions right ({right / answered:.0%}); the minimum is {minimum:.0%}. You're removed "
        f"from “{campaign}” and its unpaid rewards are withheld. If you think a check was "
        f"wrong, appeal a withheld reward within {appeal_hours} hours; in other campaigns, read "
        "the instructions and answer carefully.",
        _by("gold_accuracy", "removed",
            f"{right} of {answered} check questions right, below {minimum:.0%}"),
    )


def limited_account(count: int, no_username: bool, min_age_hours: int) -> Text:
    if no_username:
        who, remedy = ("without a Telegram username",
                       "Set a username in Telegram's settings to lift this limit.")
    else:
        who, remedy = (f"younger than {min_age_hours} hours",
                       "The limit lifts once your account is old enough.")
    return (
        f"{_head('limited_account')} accounts {who} may give at most {_answers(count)} a day, "
        f"and you have reached that today. You can answer again after midnight UTC. {remedy}",
        f"the daily limit of {_answers(count)} for accounts {who} is reached; it resets at "
        "midnight UTC",
    )


def cap_reached(rule: str, limit: str) -> str:
    """Why a daily cap keeps a campaign closed to the worker today (for `blocked`)."""
    return _by(rule, "paused", f"daily maximum of {limit} reached; it resets at midnight UTC")
