"""SQLAlchemy 2 models: workers, campaigns, items, assignments, answers, rounds and the audit log.

Test and production databases are built by Alembic (`migrations/`), never by `create_all`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from agreemint.store.types import BigIntPK, TokenAmount, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # worker | manager | admin; operators' configured ids count as admin regardless.
    role: Mapped[str] = mapped_column(String(16), default="worker")
    # Checksummed address, linked only through a verified EIP-4361 signature.
    wallet_address: Mapped[str | None] = mapped_column(String(42), unique=True)
    wallet_linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answers_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    task_type: Mapped[str] = mapped_column(String(32), default="single_choice")
    label_options: Mapped[list[str]] = mapped_column(JSON)
    overlap: Mapped[int] = mapped_column(Integer, default=3)  # answers every item gets at least
    # Dynamic overlap: an item below target_confidence gets more answers, up to max_overlap.
    max_overlap: Mapped[int | None] = mapped_column(Integer)
    target_confidence: Mapped[float] = mapped_column(Float, default=0.9)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    budget_wei: Mapped[int] = mapped_column(TokenAmount, default=0)
    funded_wei: Mapped[int] = mapped_column(TokenAmount, default=0)
    # Reward per verified label in millionths of a token: exact integers on every backend.
    reward_rate_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    gold_rate: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # The campaign's id in the RewardVault once it exists on-chain.
    chain_campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    # Qualification: a newcomer first answers this many gold questions (0 = no training) and
    # needs `training_pass` of them right to reach paid items.
    training_questions: Mapped[int] = mapped_column(Integer, default=0)
    training_pass: Mapped[float] = mapped_column(Float, default=0.8)
    # Overrides of the default trust rules ({rule name: {field: value}}); see services.rules.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def overlap_cap(self) -> int:
        """The most answers an item can get: where dynamic overlap stops (services/rounds.py),
        what the budget pays for per item, and so what the paid-gold check prices against
        (services/gold_budget.py)."""
        return max(self.overlap, self.max_overlap or 0)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "external_id"),
        Index("ix_items_campaign_open", "campaign_id", "resolved", "is_gold"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)
    # Telegram's file_id after the first upload, so a photo is uploaded once.
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    gold_label: Mapped[str | None] = mapped_column(String(200))
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False)
    # Slots held by open assignments plus answers; raised only by a guarded UPDATE (see tasks).
    slots_taken: Mapped[int] = mapped_column(Integer, default=0)
    # Dynamic overlap: a round that is not yet confident raises this above the campaign's
    # overlap (up to its max_overlap); None means the campaign's overlap.
    answers_wanted: Mapped[int | None] = mapped_column(Integer)
    answers_count: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    consensus_label: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    # Shown with the right label when a worker gets this gold question wrong in training.
    hint: Mapped[str | None] = mapped_column(Text)
    # file | promoted (a confidently resolved item a manager made gold).
    gold_source: Mapped[str | None] = mapped_column(String(16))
    # Why this gold key looks wrong (most good workers disagree); None = not flagged.
    gold_flag: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("worker_id", "item_id"),
        Index("ix_assignments_open", "status", "expires_at"),
        # Answers and open tasks per item (the paid-gold budget check, services/gold_budget.py).
        Index("ix_assignments_item", "item_id", "purpose", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="issued")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # task | training | review (a blind re-review for an appeal; takes no overlap slot).
    purpose: Mapped[str] = mapped_column(String(16), default="task")


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("item_id", "worker_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seconds_taken: Mapped[float | None] = mapped_column(Float)
    # task | training: training answers teach and qualify; they are not paid or aggregated.
    purpose: Mapped[str] = mapped_column(String(16), default="task")
    # The rule that caught this answer (e.g. answered too fast): its reward is withheld.
    flag: Mapped[str | None] = mapped_column(Text)


class ConsensusRound(Base):
    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    aggregator: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_resolved: Mapped[int] = mapped_column(Integer, default=0)
    answers_used: Mapped[int] = mapped_column(Integer, default=0)


class RoundResult(Base):
    __tablename__ = "round_results"
    __table_args__ = (UniqueConstraint("round_id", "item_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    confidence: Mapped[float] = mapped_column(Float)
    agreement: Mapped[float] = mapped_column(Float)
    answers: Mapped[int] = mapped_column(Integer)


class WorkerQuality(Base):
    __tablename__ = "worker_quality"
    __table_args__ = (UniqueConstraint("round_id", "worker_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    accuracy: Mapped[float] = mapped_column(Float)
    accuracy_low: Mapped[float] = mapped_column(Float)
    accuracy_high: Mapped[float] = mapped_column(Float)
    answers: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """Append-only and hash-chained: the code never updates or deletes a row (PostgreSQL also
    forbids it), and each row's hash covers its content and its predecessor's hash."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hash chain (see agreemint.services.audit); NULL only on a row written outside the app,
    # which `agreemint audit verify` reports as a broken link.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ProcessedUpdate(Base):
    """Telegram update ids claimed or handled; Telegram delivers at least once."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class FSMState(Base):
    """One open bot dialog (aiogram FSM state and data of one StorageKey), so a restart keeps it.

    A row exists only while its state or data is set; clearing both deletes it."""

    __tablename__ = "fsm_states"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # 0 and "" stand for "none": key columns cannot be NULL, and NULLs would never conflict.
    thread_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    business_connection_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    destiny: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Lets an operator find dialogs abandoned long ago.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletChallenge(Base):
    """A Sign-In with Ethereum message issued to one worker: single use, expires."""

    __tablename__ = "wallet_challenges"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    message: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SettlementBatch(Base):
    """One on-chain `settle` call, written before anything is sent (crash-safe payouts)."""

    __tablename__ = "settlement_batches"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_key: Mapped[str] = mapped_column(String(66), unique=True)  # bytes32 hex, deterministic
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    merkle_root: Mapped[str] = mapped_column(String(66))
    total_wei: Mapped[int] = mapped_column(TokenAmount, default=0)
    workers: Mapped[int] = mapped_column(Integer, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """The money state of one answer: pending, verified, held (for a manager's review),
    withheld (with a reason) or paid."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_state", "status", "campaign_id"),
        # A campaign's decided amounts, read from the index alone (services/gold_budget.py).
        Index("ix_ledger_entries_amounts", "campaign_id", "status", "amount_wei"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    answer_id: Mapped[int] = mapped_column(
        ForeignKey("answers.id", ondelete="CASCADE"), unique=True
    )
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    amount_wei: Mapped[int] = mapped_column(TokenAmount, default=0)
    quality_bps: Mapped[int | None] = mapped_column(Integer)
    multiplier_bps: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("settlement_batches.id", ondelete="SET NULL"), index=True
    )
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Notification(Base):
    """An outbox of messages to workers: written in the same transaction as the event it
    reports, sent by a job, never twice (unique `dedupe_key`)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_unsent", "sent_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Broadcast(Base):
    """An announcement of a campaign to many workers, sent from a durable queue."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    # Telegram's id of the manager's photo: sent with `text` as its caption (the bot may resend
    # any file it has seen by id, so nothing is stored on our side).
    photo_file_id: Mapped[str | None] = mapped_column(String(256))
    # Who gets it, e.g. {"min_quality": 0.8}; empty = every reachable worker.
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|sending|done|stopped
    created_by: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The manager's status message, edited as the broadcast progresses.
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)


class BroadcastRecipient(Base):
    """One worker's copy of a broadcast; the unique key makes a resend impossible."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "worker_id"),
        Index("ix_broadcast_recipients_queue", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class Standing(Base):
    """A worker's standing in one campaign: training, pauses, removal and review holds."""

    __tablename__ = "standings"
    __table_args__ = (UniqueConstraint("worker_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # training | qualified | failed (may retry at retry_at)
    stage: Mapped[str] = mapped_column(String(16), default="qualified")
    training_answered: Mapped[int] = mapped_column(Integer, default=0)
    training_correct: Mapped[int] = mapped_column(Integer, default=0)
    training_attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(Text)
    # Under a manager's review (e.g. suspected collusion): new rewards are held, not verified.
    held_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_cases.id", ondelete="SET NULL")
    )
    # Matched a suspected ring's answers more than chance, without proof: this worker's gold
    # turns serve the gold that case's members answered wrongly (collusion_groups.py).
    watch_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_cases.id", ondelete="SET NULL")
    )
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RuleEvent(Base):
    """A rule that fired for a worker: what it measured and what it did."""

    __tablename__ = "rule_events"
    __table_args__ = (Index("ix_rule_events_worker", "worker_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # warn | pause | remove | withhold | limit
    measured: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewCase(Base):
    """Evidence against a group of workers (e.g. collusion) awaiting a manager's decision."""

    __tablename__ = "review_cases"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="collusion")
    workers: Mapped[list[int]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|released|confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))


class Appeal(Base):
    """A worker's appeal against one withheld reward, settled by blind re-review."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.id", ondelete="CASCADE"), unique=True
    )
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))  # the appellant's answer
    votes_wanted: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|released|confirmed
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppealVote(Base):
    """One reviewer's blind answer on an appealed item."""

    __tablename__ = "appeal_votes"
    __table_args__ = (UniqueConstraint("appeal_id", "worker_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
