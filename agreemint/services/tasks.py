"""Handing out tasks and recording answers: the rules that keep overlap and uniqueness.

An item's `slots_taken` counts open assignments plus answers. It is raised only by one guarded
UPDATE (`... WHERE slots_taken < overlap`), which both SQLite and PostgreSQL apply atomically,
so two workers racing for the last slot of an item can never both win it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.config import TaskSettings
from agreemint.domain import (
    MAX_LABEL_CHARS,
    AnswerReceipt,
    AssignmentStatus,
    CampaignStatus,
    ItemKind,
    TaskType,
    TaskView,
    join_selection,
    normalize_text,
)
from agreemint.errors import (
    AlreadyAnswered,
    AssignmentExpired,
    CampaignNotActive,
    ForeignAssignment,
    InvalidInput,
    InvalidOption,
    NotFound,
)
from agreemint.services.audit import audit
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, Assignment, Campaign, Item, Worker
from agreemint.store.types import utcnow

Clock = Callable[[], datetime]
CANDIDATES = 16


def gold_turn(answers_so_far: int, rate: float) -> bool:
    """Whether the next task should be gold: spreads gold evenly at exactly `rate`."""
    return math.floor((answers_so_far + 1) * rate) > math.floor(answers_so_far * rate)


class TaskService:
    """Assignments and answers for workers."""

    def __init__(self, sessionmaker: SessionMaker, settings: TaskSettings, clock: Clock = utcnow):
        self._sm = sessionmaker
        self._settings = settings
        self._now = clock

    async def next_task(self, worker_id: int) -> TaskView | None:
        """The worker's open task, or a new one; None when nothing is left for this worker."""
        for _attempt in range(3):
            async with self._sm() as session:
                open_task = await self._open_assignment(session, worker_id)
                if open_task is not None:
                    return await self._view(session, open_task)
                worker = await session.get_one(Worker, worker_id)
                assignment = await self._claim(session, worker)
                if assignment is None:
                    return None
                try:
                    await session.commit()
                except IntegrityError:
                    # The same worker asked twice at once; the other request holds the item.
                    await session.rollback()
                    continue
                return await self._view(session, assignment)
        return None

    async def _open_assignment(self, session: AsyncSession, worker_id: int) -> Assignment | None:
        return await session.scalar(
            select(Assignment)
            .join(Item, Item.id == Assignment.item_id)
            .join(Campaign, Campaign.id == Item.campaign_id)
            .where(
                Assignment.worker_id == worker_id,
                Assignment.status == AssignmentStatus.ISSUED,
                Assignment.expires_at > self._now(),
                Campaign.status == CampaignStatus.ACTIVE,
            )
            .order_by(Assignment.id)
            .limit(1)
        )

    async def _claim(self, session: AsyncSession, worker: Worker) -> Assignment | None:
        regular = (await session.execute(self._candidates(worker.id, gold=False))).all()
        if not regular:
            return None
        ids = [row.id for row in regular]
        # Gold comes from the campaign the worker is about to work on, at its own rate.
        campaign_id, campaign_rate = regular[0].campaign_id, regular[0].gold_rate
        rate = self._settings.gold_rate if campaign_rate is None else campaign_rate
        if gold_turn(worker.answers_count, rate):
            gold = self._candidates(worker.id, gold=True).where(Item.campaign_id == campaign_id)
            ids = [row.id for row in await session.execute(gold)] + ids
        for item_id in ids:
            if await self._take_slot(session, item_id):
                now = self._now()
                assignment = Assignment(
                    worker_id=worker.id,
                    item_id=item_id,
                    issued_at=now,
                    expires_at=now + timedelta(seconds=self._settings.assignment_ttl_seconds),
                )
                session.add(assignment)
                await session.flush()
                return assignment
        return None

    def _candidates(self, worker_id: int, *, gold: bool) -> Select[int, int, float | None]:
        seen = exists().where(Assignment.item_id == Item.id, Assignment.worker_id == worker_id)
        query = (
            select(Item.id, Item.campaign_id, Campaign.gold_rate)
            .join(Campaign, Campaign.id == Item.campaign_id)
            .where(
                Campaign.status == CampaignStatus.ACTIVE,
                # Past its deadline a campaign hands out nothing new (managers can extend it).
                or_(Campaign.deadline.is_(None), Campaign.deadline > self._now()),
                Item.resolved.is_(False),
                Item.is_gold.is_(gold),
                ~seen,
            )
        )
        if not gold:
            # Fill items closest to their overlap first so they reach consensus sooner.
            wanted = func.coalesce(Item.answers_wanted, Campaign.overlap)
            query = query.where(Item.slots_taken < wanted).order_by(
                Item.slots_taken.desc(), Item.id
            )
        else:
            query = query.order_by(Item.answers_count, Item.id)
        return query.limit(CANDIDATES)

    async def _take_slot(self, session: AsyncSession, item_id: int) -> bool:
        overlap = select(Campaign.overlap).where(Campaign.id == Item.campaign_id).scalar_subquery()
        wanted = func.coalesce(Item.answers_wanted, overlap)
        result = await session.execute(
            update(Item)
            .where(Item.id == item_id, or_(Item.is_gold.is_(True), Item.slots_taken < wanted))
            .values(slots_taken=Item.slots_taken + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0)) == 1

    async def _release_slot(self, session: AsyncSession, item_id: int) -> None:
        await session.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(slots_taken=Item.slots_taken - 1)
            .execution_options(synchronize_session=False)
        )

    async def _view(self, session: AsyncSession, assignment: Assignment) -> TaskView:
        item = await session.get_one(Item, assignment.item_id)
        campaign = await session.get_one(Campaign, item.campaign_id)
        return _task_view(assignment, item, campaign)

    async def shown(self, assignment_id: int, message_id: int, photo_file_id: str | None) -> None:
        """Remember the chat message of a task and, for an uploaded photo, Telegram's file id."""
        async with self._sm() as session:
            assignment = await session.get_one(Assignment, assignment_id)
            assignment.message_id = message_id
            if photo_file_id:
                item = await session.get_one(Item, assignment.item_id)
                item.photo_file_id = item.photo_file_id or photo_file_id
            await session.commit()

    async def record_answer(
        self, telegram_id: int, assignment_id: int, option: int
    ) -> AnswerReceipt:
        """Store one answer; refuses foreign, expired, repeated or out-of-range taps."""
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            if campaign.task_type not in (TaskType.SINGLE_CHOICE, TaskType.YES_NO):
                raise InvalidOption()
            if not 0 <= option < len(campaign.label_options):
                raise InvalidOption()
            label = campaign.label_options[option]
            return await self._store(session, telegram_id, assignment, item, campaign, label)

    async def check_selection(self, telegram_id: int, assignment_id: int, mask: int) -> TaskView:
        """A multiple-choice toggle: the task, if `mask` is a selection this worker may still
        make on it (the selection itself lives in the buttons' callback data)."""
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            _check_mask(campaign, mask, allow_empty=True)
            return _task_view(assignment, item, campaign)

    async def record_selection(
        self, telegram_id: int, assignment_id: int, mask: int
    ) -> AnswerReceipt:
        """Store a multiple-choice answer: the options in `mask` (bit i = option i) joined in
        the campaign's order; at least one option."""
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            _check_mask(campaign, mask, allow_empty=False)
            label = join_selection(campaign.label_options, mask)
            return await self._store(session, telegram_id, assignment, item, campaign, label)

    async def open_free_text(self, worker_id: int) -> int | None:
        """The worker's open assignment when it is a free-text task (a plain message answers
        it), else None."""
        async with self._sm() as session:
            assignment = await self._open_assignment(session, worker_id)
            if assignment is None:
                return None
            task_type = await session.scalar(
                select(Campaign.task_type).join(Item, Item.campaign_id == Campaign.id)
                .where(Item.id == assignment.item_id)
            )
            return assignment.id if task_type == TaskType.FREE_TEXT else None

    async def record_text(self, telegram_id: int, assignment_id: int, text: str) -> AnswerReceipt:
        """Store a free-text answer, normalized (`normalize_text`); the receipt shows it as
        typed (trimmed)."""
        typed = " ".join(text.split())
        if not typed:
            raise InvalidInput("The answer is empty. Reply with some text, or tap Skip.")
        if len(typed) > MAX_LABEL_CHARS:
            raise InvalidInput(
                f"The answer is {len(typed)} characters; the limit is {MAX_LABEL_CHARS}. "
                "Send a shorter one."
            )
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            if campaign.task_type != TaskType.FREE_TEXT:
                raise InvalidOption()
            receipt = await self._store(
                session, telegram_id, assignment, item, campaign, normalize_text(typed)
            )
            return AnswerReceipt(typed, receipt.task)

    async def _store(
        self, session: AsyncSession, telegram_id: int, assignment: Assignment, item: Item,
        campaign: Campaign, label: str,
    ) -> AnswerReceipt:
        now = self._now()
        session.add(
            Answer(
                item_id=item.id,
                worker_id=assignment.worker_id,
                assignment_id=assignment.id,
                label=label,
                answered_at=now,
                seconds_taken=(now - assignment.issued_at).total_seconds(),
            )
        )
        assignment.status, assignment.closed_at = AssignmentStatus.ANSWERED, now
        view = _task_view(assignment, item, campaign)
        # SQL-side increments: concurrent answers on one item must not lose a count.
        item.answers_count = Item.answers_count + 1
        await session.execute(
            update(Worker)
            .where(Worker.id == assignment.worker_id)
            .values(answers_count=Worker.answers_count + 1)
        )
        audit(session, "answer.recorded", "item", item.id, actor=str(telegram_id),
              assignment=assignment.id, label=label)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise AlreadyAnswered() from exc
        return AnswerReceipt(label, view)

    async def skip(self, telegram_id: int, assignment_id: int) -> TaskView:
        """Give the task back: the slot goes to someone else and this worker won't see it again."""
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            view = _task_view(assignment, item, campaign)
            assignment.status, assignment.closed_at = AssignmentStatus.SKIPPED, self._now()
            await self._release_slot(session, item.id)
            audit(session, "assignment.skipped", "item", item.id, actor=str(telegram_id),
                  assignment=assignment.id)
            await session.commit()
            return view

    async def _owned(
        self, session: AsyncSession, telegram_id: int, assignment_id: int
    ) -> tuple[Assignment, Item, Campaign]:
        row = (
            await session.execute(
                select(Assignment, Item, Campaign, Worker.telegram_id)
                .join(Item, Item.id == Assignment.item_id)
                .join(Campaign, Campaign.id == Item.campaign_id)
                .join(Worker, Worker.id == Assignment.worker_id)
                .where(Assignment.id == assignment_id)
            )
        ).first()
        if row is None:
            raise NotFound("This task no longer exists. Tap “Next task” for a new one.")
        assignment, item, campaign, owner = row
        if owner != telegram_id:
            raise ForeignAssignment()
        if assignment.status == AssignmentStatus.ANSWERED:
            raise AlreadyAnswered()
        if assignment.status != AssignmentStatus.ISSUED:
            raise AssignmentExpired()
        if assignment.expires_at <= self._now():
            await self._expire(session, [assignment])
            await session.commit()
            raise AssignmentExpired()
        if campaign.status != CampaignStatus.ACTIVE:
            raise CampaignNotActive()
        return assignment, item, campaign

    async def expire_stale(self) -> int:
        """Release the slots of assignments nobody answered in time; returns how many."""
        async with self._sm() as session:
            stale = list(
                await session.scalars(
                    select(Assignment).where(
                        and_(
                            Assignment.status == AssignmentStatus.ISSUED,
                            Assignment.expires_at <= self._now(),
                        )
                    )
                )
            )
            await self._expire(session, stale)
            await session.commit()
            return len(stale)

    async def _expire(self, session: AsyncSession, assignments: list[Assignment]) -> None:
        for assignment in assignments:
            assignment.status, assignment.closed_at = AssignmentStatus.EXPIRED, self._now()
            await self._release_slot(session, assignment.item_id)
            audit(session, "assignment.expired", "item", assignment.item_id,
                  assignment=assignment.id)


def _task_view(assignment: Assignment, item: Item, campaign: Campaign) -> TaskView:
    return TaskView(
        assignment_id=assignment.id,
        campaign_name=campaign.name,
        instructions=campaign.instructions,
        kind=ItemKind(item.kind),
        text=item.text,
        photo=item.photo,
        photo_file_id=item.photo_file_id,
        options=tuple(campaign.label_options),
        expires_at=assignment.expires_at,
        message_id=assignment.message_id,
        task_type=TaskType(campaign.task_type),
    )


def _check_mask(campaign: Campaign, mask: int, *, allow_empty: bool) -> None:
    if campaign.task_type != TaskType.MULTIPLE_CHOICE:
        raise InvalidOption()
    if not 0 <= mask < 1 << len(campaign.label_options):
        raise InvalidOption()
    if mask == 0 and not allow_empty:
        raise InvalidInput("Select at least one option, then tap Done (or Skip).")
