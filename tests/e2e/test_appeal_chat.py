"""/appeal through the real bot: list withheld label decisions, file one with a button."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from agreemint.store.models import Appeal
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, start
from tests.factories import make_campaign, make_workers


async def command(h: Harness, text: str) -> str:
    before = len(await h.tg.messages(ANN))
    await h.tg.send_text(ANN, text)
    return (await h.tg.wait_for(ANN, before + 1))[-1].content


async def outvoted(h: Harness) -> None:
    """Ann answers "dog" on one item where two others say "cat"; the round withholds hers."""
    services = h.services
    campaign = await make_campaign(services, items=1, overlap=3)
    ann = await services.workers.register(ANN, "Ann", None, "en")
    others = await make_workers(services, 2)
    for worker, option in ((ann, 1), (others[0], 0), (others[1], 0)):
        task = await services.tasks.next_task(worker.id)
        assert task is not None
        await services.tasks.record_answer(worker.telegram_id, task.assignment_id, option)
    summary = await services.rounds.run(campaign)
    assert summary is not None
    await services.rewards.assess(summary.round_id)


async def test_appeal_lists_and_files_once(harness: Harness) -> None:
    h = harness
    await start(h)
    assert "Nothing to appeal" in await command(h, "/appeal")
    await outvoted(h)
    listing = await command(h, "/appeal")
    assert "“item 0” → dog" in listing and "disagreed with the consensus label (cat)" in listing
    msg = (await h.tg.messages(ANN))[-1]
    button = msg.button("Appeal 1")
    assert button is not None and button.callback_data
    await h.tg.tap(ANN, msg.message_id, button.callback_data)
    edited = await h.tg.wait_for(
        ANN, lambda ms: any("filed" in m.content for m in ms if m.message_id == msg.message_id))
    assert any("Appeal #" in m.content and "label it blind" in m.content for m in edited)
    # The old button again (a duplicate tap): refused clearly, still one appeal.
    await h.tg.tap(ANN, msg.message_id, button.callback_data, force=True)
    for _ in range(50):
        answers = await h.tg.callback_answers(ANN)
        if any("already appealed" in (a.get("text") or "") for a in answers):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no refusal in {answers}")
    async with h.services.sessionmaker() as s:
        assert len(list(await s.scalars(select(Appeal)))) == 1
    status = await command(h, "/appeal")
    assert "Your appeals" in status and "under blind re-review" in status
