"""Handing out tasks and recording answers: the rules that keep overlap and uniqueness.

Which item comes next is `task_claim`'s job; this module owns the transactions. An answer is
stored by its assignment's purpose: a paid task (then the campaign's rules look at it), a
training question (graded at once, never paid) or a blind appeal re-review (a vote, not an
answer). Everything an answer triggers commits together with it.

A task stays open in the chat after its worker is paused or removed in its campaign (a rule, a
confirmed collusion case, failed training). Answering it then is refused with the standing's
own reason (`AnswerRefused`): nothing is stored, and the slot goes back to the pool.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, select, update
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
    AgreemintError,
    AlreadyAnswered,
    AssignmentExpired,
    CampaignNotActive,
    ForeignAssignment,
    InvalidInput,
    InvalidOption,
    NotFound,
)
from agreemint.services.audit import audit
from agreemint.services.standing import Purpose, blocking_reason, find_standing
from agreemint.services.task_claim import (
    Claimer,
    Gate,
    Qualification,
    Reviews,
    gold_turn,
    release_slot,
)
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, Assignment, Campaign, Item, Worker
from agreemint.store.types import utcnow

Clock = Callable[[], datetime]
__all__ = ["AnswerRefused", "TaskService", "gold_turn"]


class AnswerRefused(AgreemintError):
    """The worker may not answer in this campaign now (paused, removed, ...): nothing was
    stored and the task went back to the pool. `reason` is the standing's text, the same that
    "Next task" gives for the block."""

    def __init__(self, task: TaskView, reason: str) -> None:
        self.task, self.reason = task, reason
        super().__init__(
            f"Your answer was not saved: you can't answer tasks in “{task.campaign_name}” right "
            f"now — {reason}. The task has gone back to other workers."
        )


class Rules(Gate, Protocol):
    """The campaign's rules, run on every paid answer and skip."""

    async def after_answer(
        self, session: AsyncSession, worker: Worker, campaign: Campaign, answer: Answer
    ) -> list[str]: ...

    async def after_skip(
        self, session: AsyncSession, worker: Worker, campaign: Campaign
    ) -> list[str]: ...


class Trainer(Qualification, Protocol):
    async def grade(
        self, session: AsyncSession, worker_id: int, item: Item, campaign: Campaign, label: str
    ) -> str: ...


class Appeals(Reviews, Protocol):
    async def vote(self, session: AsyncSession, assignment: Assignment, label: str) -> None: ...


class TaskService:
    """Assignments and answers for workers."""

    def __init__(
        self, sessionmaker: SessionMaker, settings: TaskSettings, clock: Clock = utcnow, *,
        rules: Rules | None = None, training: Trainer | None = None,
        appeals: Appeals | None = None, early_gold: tuple[int, float] = (0, 0.0),
        rng: random.Random | None = None,
    ) -> None:
        self._sm = sessionmaker
        self._settings = settings
        self._now = clock
        self._rules = rules
        self._training = training
        self._appeals = appeals
        self._claimer = Claimer(settings, clock, rules, training, appeals, early_gold, rng)

    async def next_task(self, worker_id: int) -> TaskView | None:
        """The worker's open task, or a new one; None when nothing is left for this worker."""
        for _attempt in range(3):
            async with self._sm() as session:
                open_task = await self._open_assignment(session, worker_id)
                if open_task is not None:
                    item = await session.get_one(Item, open_task.item_id)
                    if await self._close_if_blocked(session, open_task, item) is None:
                        return await self._view(session, open_task)
                    # Paused or removed since it was shown: it went back; look elsewhere.
                    await session.commit()
                    continue
                worker = await session.get_one(Worker, worker_id)
                assignment = await self._claimer.claim(session, worker)
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

    async def why_nothing(self, worker_id: int) -> list[str]:
        """Why `next_task` found nothing for this worker beyond "all done": pauses, removals,
        caps and training cool-downs, one line each."""
        async with self._sm() as session:
            worker = await session.get_one(Worker, worker_id)
            blocked = await self._claimer.blocked(session, worker)
            names = dict((await session.execute(
                select(Campaign.id, Campaign.name).where(
                    Campaign.id.in_(blocked.campaigns), Campaign.status == CampaignStatus.ACTIVE
                )
            )).all()) if blocked.campaigns else {}
        lines = [f"{names[c]}: {why}" for c, why in blocked.campaigns.items() if c in names]
        return ([blocked.everywhere] if blocked.everywhere else []) + lines

    async def _view(self, session: AsyncSession, assignment: Assignment) -> TaskView:
        item = await session.get_one(Item, assignment.item_id)
        campaign = await session.get_one(Campaign, item.campaign_id)
        training = None
        if assignment.purpose == Purpose.TRAINING:
            standing = await find_standing(session, assignment.worker_id, campaign.id)
            done = standing.training_answered if standing else 0
            training = f"Training question {done + 1} of {campaign.training_questions}"
        return _task_view(assignment, item, campaign, training)

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
            assignment, item, campaign = await self._answerable(session, telegram_id,
                                                                assignment_id)
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
            assignment, item, campaign = await self._answerable(session, telegram_id,
                                                                assignment_id)
            _check_mask(campaign, mask, allow_empty=True)
            return _task_view(assignment, item, campaign)

    async def record_selection(
        self, telegram_id: int, assignment_id: int, mask: int
    ) -> AnswerReceipt:
        """Store a multiple-choice answer: the options in `mask` (bit i = option i) joined in
        the campaign's order; at least one option."""
        async with self._sm() as session:
            assignment, item, campaign = await self._answerable(session, telegram_id,
                                                                assignment_id)
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
            assignment, item, campaign = await self._answerable(session, telegram_id,
                                                                assignment_id)
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
        assignment.status, assignment.closed_at = AssignmentStatus.ANSWERED, now
        view = _task_view(assignment, item, campaign)
        if assignment.purpose == Purpose.REVIEW and self._appeals is not None:
            await self._appeals.vote(session, assignment, label)
            notes: list[str] = []
        else:
            notes = await self._record(session, telegram_id, assignment, item, campaign, label)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise AlreadyAnswered() from exc
        return AnswerReceipt(label, view, tuple(notes))

    async def _record(
        self, session: AsyncSession, telegram_id: int, assignment: Assignment, item: Item,
        campaign: Campaign, label: str,
    ) -> list[str]:
        """The answer row and what it triggers: grading in training, the rules otherwise."""
        now = self._now()
        answer = Answer(
            item_id=item.id, worker_id=assignment.worker_id, assignment_id=assignment.id,
            label=label, answered_at=now, purpose=assignment.purpose,
            seconds_taken=(now - assignment.issued_at).total_seconds(),
        )
        session.add(answer)
        # SQL-side increments: concurrent answers on one item must not lose a count.
        item.answers_count = Item.answers_count + 1
        await session.execute(
            update(Worker)
            .where(Worker.id == assignment.worker_id)
            .values(answers_count=Worker.answers_count + 1)
        )
        audit(session, "answer.recorded", "item", item.id, actor=str(telegram_id),
              assignment=assignment.id, label=label, purpose=assignment.purpose)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise AlreadyAnswered() from exc
        if assignment.purpose == Purpose.TRAINING and self._training is not None:
            return [await self._training.grade(session, assignment.worker_id, item, campaign,
                                               label)]
        if self._rules is None:
            return []
        worker = await session.get_one(Worker, assignment.worker_id)
        return await self._rules.after_answer(session, worker, campaign, answer)

    async def skip(self, telegram_id: int, assignment_id: int) -> AnswerReceipt:
        """Give the task back: the slot goes to someone else and this worker won't see it
        again. The receipt's notes carry any rule the skip triggered (e.g. too many in a row)."""
        async with self._sm() as session:
            assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
            view = _task_view(assignment, item, campaign)
            assignment.status, assignment.closed_at = AssignmentStatus.SKIPPED, self._now()
            await release_slot(session, assignment)
            audit(session, "assignment.skipped", "item", item.id, actor=str(telegram_id),
                  assignment=assignment.id)
            notes: list[str] = []
            if self._rules is not None and assignment.purpose == Purpose.TASK:
                await session.flush()
                worker = await session.get_one(Worker, assignment.worker_id)
                notes = await self._rules.after_skip(session, worker, campaign)
            await session.commit()
            return AnswerReceipt("", view, tuple(notes))

    async def _answerable(
        self, session: AsyncSession, telegram_id: int, assignment_id: int
    ) -> tuple[Assignment, Item, Campaign]:
        """`_owned`, unless the worker's standing in the campaign now keeps them from its
        tasks: then the assignment is closed, its slot given back, and `AnswerRefused` says why.
        Appeal re-reviews are left to `appeals`, which chooses who may vote."""
        assignment, item, campaign = await self._owned(session, telegram_id, assignment_id)
        view = _task_view(assignment, item, campaign)
        reason = await self._close_if_blocked(session, assignment, item)
        if reason is None:
            return assignment, item, campaign
        await session.commit()
        raise AnswerRefused(view, reason)

    async def _close_if_blocked(self, session: AsyncSession, assignment: Assignment,
                                item: Item) -> str | None:
        """Why the worker may not answer this assignment any more (a pause or removal in its
        campaign), having closed it and given its slot back; None when they may."""
        if assignment.purpose == Purpose.REVIEW:
            return None
        standing = await find_standing(session, assignment.worker_id, item.campaign_id)
        reason = blocking_reason(standing, self._now())
        if reason is None:
            return None
        # Guarded: of two taps at once, only one closes the assignment and gives the slot back.
        closed = await session.execute(
            update(Assignment)
            .where(Assignment.id == assignment.id, Assignment.status == AssignmentStatus.ISSUED)
            .values(status=AssignmentStatus.EXPIRED, closed_at=self._now())
            .execution_options(synchronize_session=False)
        )
        if int(getattr(closed, "rowcount", 0) or 0) == 1:
            await release_slot(session, assignment)
            worker = await session.get_one(Worker, assignment.worker_id)
            audit(session, "assignment.refused", "item", item.id, actor=str(worker.telegram_id),
                  assignment=assignment.id, reason=reason)
        return reason

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
            await release_slot(session, assignment)
            audit(session, "assignment.expired", "item", assignment.item_id,
                  assignment=assignment.id)


def _task_view(
    assignment: Assignment, item: Item, campaign: Campaign, training: str | None = None
) -> TaskView:
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
        training=training,
    )


def _check_mask(campaign: Campaign, mask: int, *, allow_empty: bool) -> None:
    if campaign.task_type != TaskType.MULTIPLE_CHOICE:
        raise InvalidOption()
    if not 0 <= mask < 1 << len(campaign.label_options):
        raise InvalidOption()
    if mask == 0 and not allow_empty:
        raise InvalidInput("Select at least one option, then tap Done (or Skip).")
