"""A task open in the chat when its worker is paused or removed: the answer is refused with
the reason "Next task" gives, nothing is stored, and the item goes back to the pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from agreemint.domain import AssignmentStatus, ItemKind, TaskType
from agreemint.errors import AssignmentExpired
from agreemint.runtime import Services
from agreemint.services import rule_texts
from agreemint.services.campaign_control import Viewer
from agreemint.services.campaigns import CampaignSpec
from agreemint.services.itemfile import ItemSpec
from agreemint.services.review import confirmed_reason
from agreemint.services.standing import get_standing
from agreemint.services.tasks import AnswerRefused
from agreemint.store.models import Answer, Assignment, AuditEntry, Campaign, Item, ReviewCase
from tests.conftest import Clock
from tests.factories import make_campaign, make_workers


async def pause(services: Services, clock: Clock, worker_id: int, campaign_id: int,
                minutes: int) -> str:
    """Pause the worker as the "same button" rule does; the stored reason."""
    _, reason = rule_texts.same_button_pause(25, "cat", "Pets", minutes)
    async with services.sessionmaker() as s:
        standing = await get_standing(s, worker_id, campaign_id)
        standing.paused_until = clock.now + timedelta(minutes=minutes)
        standing.pause_reason = reason
        await s.commit()
    return reason


async def counts(services: Services) -> tuple[int, int, int]:
    """Answers stored, slots taken on non-gold items, and refusals audited."""
    async with services.sessionmaker() as s:
        answers = await s.scalar(select(func.count()).select_from(Answer))
        slots = await s.scalar(select(func.sum(Item.slots_taken)))
        refused = await s.scalar(select(func.count()).where(
            AuditEntry.action == "assignment.refused"))
    return int(answers or 0), int(slots or 0), int(refused or 0)


async def test_paused_with_a_task_open_is_refused_and_the_item_freed(services: Services,
                                                                     clock: Clock) -> None:
    cid = await make_campaign(services, items=1, overlap=1)
    ann, bob = await make_workers(services, 2)
    task = await services.tasks.next_task(ann.id)
    assert task is not None
    reason = await pause(services, clock, ann.id, cid, 30)

    with pytest.raises(AnswerRefused) as refused:
        await services.tasks.record_answer(ann.telegram_id, task.assignment_id, 0)
    # The same reason "Next task" gives, with the campaign's name.
    [why] = await services.tasks.why_nothing(ann.id)
    assert why.startswith("Pets: ") and why.removeprefix("Pets: ") == refused.value.reason
    assert reason in refused.value.reason and "until" in refused.value.reason
    message = refused.value.user_message
    assert message.startswith("Your answer was not saved: you can't answer tasks in “Pets”")
    assert reason in message and "gone back to other workers" in message
    assert refused.value.task.assignment_id == task.assignment_id

    # Nothing stored, the slot is free, and the item goes to someone else.
    assert await counts(services) == (0, 0, 1)
    async with services.sessionmaker() as s:
        assignment = await s.get_one(Assignment, task.assignment_id)
        assert assignment.status == AssignmentStatus.EXPIRED
    again = await services.tasks.next_task(bob.id)
    assert again is not None and again.text == task.text
    assert await services.tasks.next_task(ann.id) is None
    # A second tap on the refused task changes nothing either.
    with pytest.raises(AssignmentExpired):
        await services.tasks.record_answer(ann.telegram_id, task.assignment_id, 0)
    assert await counts(services) == (0, 1, 1)


async def test_next_task_after_a_pause_does_not_show_the_open_task_again(
        services: Services, clock: Clock) -> None:
    """Tapping Next task instead of answering: the paused worker is not handed the task they
    may no longer answer; it goes back to the pool at once."""
    cid = await make_campaign(services, items=1, overlap=1)
    ann, bob = await make_workers(services, 2)
    task = await services.tasks.next_task(ann.id)
    assert task is not None
    await pause(services, clock, ann.id, cid, 30)
    assert await services.tasks.next_task(ann.id) is None
    assert await counts(services) == (0, 0, 1)
    again = await services.tasks.next_task(bob.id)
    assert again is not None and again.text == task.text


async def test_removed_by_a_confirmed_case_with_a_task_open(services: Services) -> None:
    owner = await services.workers.register(900, "Olga", "olga", "en")
    cid = await make_campaign(services, items=2, overlap=1)
    async with services.sessionmaker() as s:
        await s.execute(update(Campaign).where(Campaign.id == cid).values(owner_id=owner.id))
        await s.commit()
    [ann] = await make_workers(services, 1)
    task = await services.tasks.next_task(ann.id)
    assert task is not None
    async with services.sessionmaker() as s:
        case = ReviewCase(campaign_id=cid, kind="collusion", workers=[ann.id], evidence={})
        s.add(case)
        await s.commit()
        case_id = case.id
    await services.review.confirm(case_id, Viewer(900, owner.id))

    with pytest.raises(AnswerRefused) as refused:
        await services.tasks.record_answer(ann.telegram_id, task.assignment_id, 1)
    assert refused.value.reason == confirmed_reason(case_id)
    assert confirmed_reason(case_id) in refused.value.user_message
    assert await counts(services) == (0, 0, 1)


async def test_a_pause_that_ended_lets_the_answer_through(services: Services,
                                                          clock: Clock) -> None:
    cid = await make_campaign(services, items=1, overlap=1)
    [ann] = await make_workers(services, 1)
    task = await services.tasks.next_task(ann.id)
    assert task is not None
    await pause(services, clock, ann.id, cid, 1)
    clock.advance(61)  # the pause is over; the task (10 minutes) is still open
    receipt = await services.tasks.record_answer(ann.telegram_id, task.assignment_id, 0)
    assert receipt.option == "cat"
    assert await counts(services) == (1, 1, 0)


@pytest.mark.parametrize("task_type", [TaskType.MULTIPLE_CHOICE, TaskType.FREE_TEXT])
async def test_other_task_types_are_refused_too(services: Services, clock: Clock,
                                                task_type: TaskType) -> None:
    options = ("cheese", "ham") if task_type is TaskType.MULTIPLE_CHOICE else ()
    cid = await services.campaigns.create(
        CampaignSpec("Pizza", "Answer.", options, overlap=1, task_type=task_type),
        [ItemSpec("i0", ItemKind.TEXT, "item 0", None, None)])
    [ann] = await make_workers(services, 1)
    task = await services.tasks.next_task(ann.id)
    assert task is not None
    await pause(services, clock, ann.id, cid, 30)
    with pytest.raises(AnswerRefused, match="“Pizza”"):
        if task_type is TaskType.MULTIPLE_CHOICE:
            # Already the first tick: no point choosing options that cannot be saved.
            await services.tasks.check_selection(ann.telegram_id, task.assignment_id, 1)
        else:
            await services.tasks.record_text(ann.telegram_id, task.assignment_id, "olives")
    assert await counts(services) == (0, 0, 1)
