"""/balance and /history through the real bot."""

from __future__ import annotations

from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import ANN, open_task, start
from tests.factories import make_campaign


async def command(h: Harness, text: str) -> str:
    before = len(await h.tg.messages(ANN))
    await h.tg.send_text(ANN, text)
    return (await h.tg.wait_for(ANN, before + 1))[-1].content


async def test_balance_and_history_before_consensus(harness: Harness) -> None:
    h = harness
    await make_campaign(h.services, items=2, overlap=2)
    await start(h)
    assert "No answers yet" in await command(h, "/history")
    task = await open_task(h)
    await h.tg.tap(ANN, task.message_id, task.buttons[0][1].callback_data or "")
    await h.tg.wait_for(ANN, lambda ms: ms[-1].message_id > task.message_id)
    balance = await command(h, "/balance")
    assert "Pending: 1 answers awaiting consensus" in balance
    assert "Paid: 0 answers — 0 LBL" in balance
    assert "No wallet linked yet" in balance and "/wallet" in balance
    history = await command(h, "/history")
    assert "→ dog — awaiting consensus" in history
