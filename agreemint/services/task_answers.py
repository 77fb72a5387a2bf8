"""What a worker does with an issued task: answer it (a button, a multiple-choice selection or
free text) or skip it.

An answer is stored by its assignment's purpose: a paid task (then the campaign's rules look at
it), a training question (graded at once, never paid) or a blind appeal re-review (a vote, not
an answer). Everything an answer or a skip triggers commits together with it, and a duplicate or
racing tap is refused by the unique (item, worker) answer. Every tap first passes the checks of
task_guard.py.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.domain import (
    MAX_LABEL_CHARS,
    AnswerReceipt,
    AssignmentStatus,
    TaskType,
    TaskView,
    join_selection,
    normalize_text,
)
from agreemint.errors import AlreadyAnswered, InvalidInput, InvalidOption
from agreemint.services.audit import audit
from agreemint.services.standing import Purpose
from agreemint.services.task_claim import Gate, Qualification, Reviews, release_slot
from agreemint.services.task_guard import AssignmentGuard, task_view
from agreemint.store.models import Answer, Assignment, Campaign, Item, Worker


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


class TaskAnswers(AssignmentGuard):
    """Answers and skips, each in its own transaction."""

    # Set by TaskService.__init__.
    _rules: Rules | None
    _training: Trainer | None
    _appeals: Appeals | None

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
            return task_view(assignment, item, campaign)

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
        view = task_view(assignment, item, campaign)
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
            view = task_view(assignment, item, campaign)
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


def _check_mask(campaign: Campaign, mask: int, *, allow_empty: bool) -> None:
    if campaign.task_type != TaskType.MULTIPLE_CHOICE:
        raise InvalidOption()
    if not 0 <= mask < 1 << len(campaign.label_options):
        raise InvalidOption()
    if mask == 0 and not allow_empty:
        raise InvalidInput("Select at least one option, then tap Done (or Skip).")
