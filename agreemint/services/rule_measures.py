"""What the rules measure: small queries over one worker's recent history.

They run on every answer, so each is bounded (`LIMIT`, or one UTC day) and starts from the
worker: `assignments` is indexed by (worker_id, item_id) and `ledger_entries` by worker_id, while
`answers` has no worker-leading index, so answers are reached through their assignment
(`answers.assignment_id` is unique). Only task answers count: training answers teach and are not
paid, so they are neither fast-tapped for money nor part of a worker's daily output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.config import TrustSettings
from agreemint.domain import AssignmentStatus, TaskType
from agreemint.services import rule_texts as texts
from agreemint.services.rule_texts import LIMIT, PAUSE, REMOVE, WARN, WITHHOLD, Firing
from agreemint.services.standing import Purpose
from agreemint.store.models import (
    Answer,
    Assignment,
    Campaign,
    Item,
    LedgerEntry,
    RuleEvent,
    Worker,
)

if TYPE_CHECKING:
    from agreemint.services.rules import RuleSet

EARNED = ("verified", "held", "paid")  # ledger states that count as money earned


def day_start(now: datetime) -> datetime:
    """The UTC midnight that began `now`'s day."""
    utc = now.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def next_midnight(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


def _answers(worker_id: int, campaign_id: int, *columns: Any) -> Select[Any]:
    """The worker's task answers in a campaign, reached through the worker's assignments."""
    return (
        select(*columns)
        .select_from(Assignment)
        .join(Answer, Answer.assignment_id == Assignment.id)
        .join(Item, Item.id == Assignment.item_id)
        .where(
            Assignment.worker_id == worker_id,
            Item.campaign_id == campaign_id,
            Answer.purpose == Purpose.TASK,
        )
    )


async def recent(
    session: AsyncSession, worker_id: int, campaign_id: int, column: Any, limit: int,
    since: datetime | None,
) -> list[Any]:
    """`column` (e.g. Answer.label) of the worker's last `limit` answers after `since`,
    newest first."""
    query = _answers(worker_id, campaign_id, column)
    if since is not None:
        query = query.where(Answer.answered_at > since)
    return list(await session.scalars(query.order_by(Answer.id.desc()).limit(limit)))


async def gold_results(
    session: AsyncSession, worker_id: int, campaign_id: int, limit: int
) -> list[bool]:
    """Right or wrong on the worker's last `limit` hidden gold questions, newest first.

    A gold key flagged as likely wrong (`gold_flag`) is left out: most good workers disagree
    with it, so it says nothing about this worker."""
    query = _answers(worker_id, campaign_id, Answer.label, Item.gold_label).where(
        Item.is_gold.is_(True), Item.gold_label.is_not(None), Item.gold_flag.is_(None)
    )
    rows = await session.execute(query.order_by(Answer.id.desc()).limit(limit))
    return [label == gold for label, gold in rows.all()]


async def skip_run(
    session: AsyncSession, worker_id: int, campaign_id: int, limit: int, since: datetime | None
) -> int:
    """How many of the worker's latest closed tasks in the campaign were skipped in a row
    (counting at most `limit`); expired tasks neither break nor extend the run."""
    closed = (AssignmentStatus.SKIPPED, AssignmentStatus.ANSWERED)
    query = (
        select(Assignment.status)
        .join(Item, Item.id == Assignment.item_id)
        .where(
            Assignment.worker_id == worker_id,
            Item.campaign_id == campaign_id,
            Assignment.purpose == Purpose.TASK,
            Assignment.status.in_(closed),
        )
    )
    if since is not None:
        query = query.where(Assignment.closed_at > since)
    query = query.order_by(Assignment.closed_at.desc(), Assignment.id.desc()).limit(limit)
    run = 0
    for status in await session.scalars(query):
        if status != AssignmentStatus.SKIPPED:
            break
        run += 1
    return run


async def answers_today(
    session: AsyncSession, worker_id: int, now: datetime
) -> dict[int, int]:
    """The worker's task answers since UTC midnight, per campaign id."""
    rows = await session.execute(
        select(Item.campaign_id, func.count())
        .select_from(Assignment)
        .join(Answer, Answer.assignment_id == Assignment.id)
        .join(Item, Item.id == Assignment.item_id)
        .where(
            Assignment.worker_id == worker_id,
            Answer.purpose == Purpose.TASK,
            Answer.answered_at >= day_start(now),
        )
        .group_by(Item.campaign_id)
    )
    return {int(campaign): int(count) for campaign, count in rows.all()}


async def earned_today(
    session: AsyncSession, worker_id: int, now: datetime, campaign_ids: list[int]
) -> dict[int, int]:
    """Wei earned (verified, held or paid) for today's answers, per campaign id.

    By the answer's day, not the entry's: an entry is written when a round assesses it, maybe
    hours later, and the cap is about the work done today. Summed in Python (amounts are text).
    """
    if not campaign_ids:
        return {}
    rows = await session.execute(
        select(LedgerEntry.campaign_id, LedgerEntry.amount_wei)
        .join(Answer, Answer.id == LedgerEntry.answer_id)
        .where(
            LedgerEntry.worker_id == worker_id,
            LedgerEntry.campaign_id.in_(campaign_ids),
            LedgerEntry.status.in_(EARNED),
            Answer.answered_at >= day_start(now),
        )
    )
    totals: dict[int, int] = {}
    for campaign, amount in rows.all():
        totals[int(campaign)] = totals.get(int(campaign), 0) + int(amount)
    return totals


async def last_fired(
    session: AsyncSession, worker_id: int, campaign_id: int
) -> dict[tuple[str, str], datetime]:
    """When each (rule, action) last fired for the worker in the campaign, or globally."""
    rows = await session.execute(
        select(RuleEvent.rule, RuleEvent.action, func.max(RuleEvent.at))
        .where(
            RuleEvent.worker_id == worker_id,
            or_(RuleEvent.campaign_id == campaign_id, RuleEvent.campaign_id.is_(None)),
        )
        .group_by(RuleEvent.rule, RuleEvent.action)
    )
    return {(str(rule), str(action)): at for rule, action, at in rows.all() if at is not None}


async def unpaid_entries(
    session: AsyncSession, worker_id: int, campaign_id: int
) -> list[LedgerEntry]:
    """Entries that have not reached the chain: never one in a batch or already paid."""
    return list(
        await session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.worker_id == worker_id,
                LedgerEntry.campaign_id == campaign_id,
                LedgerEntry.status.in_(("pending", "verified", "held")),
                LedgerEntry.batch_id.is_(None),
            ).with_for_update()
        )
    )


# --- the checks: measure → condition → Firing (the engine applies the action) ---------------

BUTTON_TYPES = (TaskType.SINGLE_CHOICE, TaskType.YES_NO, TaskType.MULTIPLE_CHOICE)


@dataclass
class RuleRun:
    """One evaluation of a campaign's rules for a worker, inside the caller's transaction."""

    session: AsyncSession
    worker: Worker
    campaign: Campaign
    rules: RuleSet
    now: datetime
    fired: dict[tuple[str, str], datetime]

    def since(self, rule: str, action: str | None = None) -> datetime | None:
        """When `rule` (with `action`, if given) last fired here; runs restart after it."""
        times = [at for (r, a), at in self.fired.items() if r == rule and action in (None, a)]
        return max(times, default=None)

    def fired_today(self, rule: str) -> bool:
        last = self.since(rule)
        return last is not None and last >= day_start(self.now)

    def ids(self) -> tuple[int, int]:
        return self.worker.id, self.campaign.id


def is_fast(answer: Answer, run: RuleRun) -> bool:
    seconds = answer.seconds_taken
    return seconds is not None and seconds < run.rules.too_fast.min_seconds


async def too_fast(run: RuleRun, answer: Answer) -> Firing | None:
    rule, seconds = run.rules.too_fast, answer.seconds_taken or 0.0
    if not rule.enabled or not is_fast(answer, run):
        return None
    return Firing("too_fast", WITHHOLD, seconds, *texts.too_fast(seconds, rule.min_seconds))


async def fast_streak(run: RuleRun, answer: Answer) -> Firing | None:
    rule, minimum = run.rules.fast_streak, run.rules.too_fast.min_seconds
    # Only a fast answer can complete a streak: skip the query otherwise.
    if not rule.enabled or not is_fast(answer, run):
        return None
    seconds = await recent(run.session, *run.ids(), Answer.seconds_taken, rule.window,
                           run.since("fast_streak"))
    fast = sum(1 for s in seconds if s is not None and s < minimum)
    if fast < rule.count:
        return None
    message, reason = texts.fast_streak(fast, rule.window, minimum, run.campaign.name,
                                        rule.pause_minutes)
    until = run.now + timedelta(minutes=rule.pause_minutes)
    return Firing("fast_streak", PAUSE, fast, message, reason, until)


async def same_button(run: RuleRun, answer: Answer) -> Firing | None:
    rule = run.rules.same_button
    if not rule.enabled or run.campaign.task_type not in BUTTON_TYPES:
        return None
    longest = max(rule.warn_at, rule.pause_at)
    if longest == 0:
        return None
    labels = await recent(run.session, *run.ids(), Answer.label, longest,
                          run.since("same_button", PAUSE))
    length = next((n for n, label in enumerate(labels) if label != answer.label), len(labels))
    name = run.campaign.name
    # Equality, not >=: a run grows by one per answer, so each threshold fires once per run.
    if rule.pause_at and length == rule.pause_at:
        message, reason = texts.same_button_pause(length, answer.label, name, rule.pause_minutes)
        until = run.now + timedelta(minutes=rule.pause_minutes)
        return Firing("same_button", PAUSE, length, message, reason, until)
    if rule.warn_at and length == rule.warn_at:
        message, reason = texts.same_button_warning(length, answer.label, name, rule.pause_at,
                                                    rule.pause_minutes)
        return Firing("same_button", WARN, length, message, reason)
    return None


async def gold_accuracy(run: RuleRun, answer: Answer, appeal_hours: int) -> Firing | None:
    rule = run.rules.gold_accuracy
    item = await run.session.get(Item, answer.item_id)
    # Accuracy changes only with a new gold answer.
    if not rule.enabled or item is None or not item.is_gold or item.gold_label is None:
        return None
    results = await gold_results(run.session, *run.ids(), rule.window)
    if len(results) < rule.min_answered or sum(results) / len(results) >= rule.min_accuracy:
        return None
    right = sum(results)
    message, reason = texts.gold_accuracy(right, len(results), rule.min_accuracy,
                                          run.campaign.name, appeal_hours)
    return Firing("gold_accuracy", REMOVE, right / len(results), message, reason)


async def skips_in_row(run: RuleRun) -> Firing | None:
    rule = run.rules.skips_in_row
    if not rule.enabled:
        return None
    length = await skip_run(run.session, *run.ids(), rule.count, run.since("skips_in_row"))
    if length < rule.count:
        return None
    message, reason = texts.skips_in_row(length, run.campaign.name, rule.pause_minutes)
    until = run.now + timedelta(minutes=rule.pause_minutes)
    return Firing("skips_in_row", PAUSE, length, message, reason, until)


async def daily_answers(run: RuleRun, today: dict[int, int]) -> Firing | None:
    rule = run.rules.daily_answers
    if not rule.enabled or not rule.max_answers or run.fired_today("daily_answers"):
        return None
    count = today.get(run.campaign.id, 0)
    if count < rule.max_answers:
        return None
    until = next_midnight(run.now)
    message, reason = texts.daily_answers(count, run.campaign.name, until)
    return Firing("daily_answers", PAUSE, count, message, reason, until)


async def daily_earnings(run: RuleRun) -> Firing | None:
    rule = run.rules.daily_earnings
    cap = rule.max_wei
    if not rule.enabled or not cap or run.fired_today("daily_earnings"):
        return None
    earned = (await earned_today(run.session, run.worker.id, run.now, [run.campaign.id])).get(
        run.campaign.id, 0)
    if earned < cap:
        return None
    until = next_midnight(run.now)
    message, reason = texts.daily_earnings(earned, cap, run.campaign.name, until)
    return Firing("daily_earnings", PAUSE, earned / 10**18, message, reason, until)


def limited(worker: Worker, settings: TrustSettings, now: datetime) -> bool:
    """Whether the sybil limit applies to this account (no username, or too new)."""
    if settings.limit_without_username and not worker.username:
        return True
    age = timedelta(hours=settings.min_account_age_hours)
    return settings.min_account_age_hours > 0 and now - worker.created_at < age


def limit_text(worker: Worker, settings: TrustSettings) -> tuple[str, str]:
    no_username = settings.limit_without_username and not worker.username
    return texts.limited_account(settings.limited_daily_answers, bool(no_username),
                                 settings.min_account_age_hours)


async def limited_account(
    run: RuleRun, today: dict[int, int], settings: TrustSettings
) -> Firing | None:
    if not limited(run.worker, settings, run.now) or run.fired_today("limited_account"):
        return None
    total = sum(today.values())
    if total < settings.limited_daily_answers:
        return None
    return Firing("limited_account", LIMIT, total, *limit_text(run.worker, settings))
