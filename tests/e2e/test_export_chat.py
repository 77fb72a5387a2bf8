"""/export in chat over the fake Bot API: the document's rows are the round's results."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from agreemint.sandbox import ChatMessage
from agreemint.store.models import Answer, Item
from tests.e2e.conftest import Harness
from tests.e2e.test_worker_flow import start
from tests.integration.test_exports import expected, labelled

MANAGER = 777


async def ask(h: Harness, text: str) -> ChatMessage:
    before = len(await h.tg.messages(MANAGER))
    await h.tg.send_text(MANAGER, text)
    return (await h.tg.wait_for(MANAGER, before + 1))[-1]


async def test_manager_exports_documents(harness: Harness) -> None:
    h = harness
    h.services.roles._managers = frozenset({MANAGER})
    cid = await labelled(h.services)
    want = await expected(h.services)
    await start(h, MANAGER, "Mia")

    reply = await ask(h, f"/export {cid} jsonl raw")
    assert reply.document is not None
    assert reply.document["file_name"] == f"campaign-{cid}-jsonl.jsonl"
    assert reply.caption == f"Campaign {cid}: 4 items"
    rows = [json.loads(x) for x in (await h.tg.download(reply.document["file_id"])).splitlines()]
    assert {r["id"]: (r["label"], r["confidence"], r["answers"], r["agreement"])
            for r in rows} == want
    assert sum(len(r["raw_answers"]) for r in rows) == 10

    reply = await ask(h, f"/export {cid} answers")
    assert reply.document is not None
    data = (await h.tg.download(reply.document["file_id"])).decode()
    answers = list(csv.DictReader(io.StringIO(data)))
    async with h.services.sessionmaker() as s:
        stored = sorted((i.external_id, a.label) for a, i in (await s.execute(
            select(Answer, Item).join(Item, Item.id == Answer.item_id))).all())
    assert sorted((r["task"], r["label"]) for r in answers) == stored

    reply = await ask(h, f"/export {cid}")  # csv by default
    assert reply.document is not None and reply.document["file_name"].endswith(".csv")


async def test_bad_requests_get_a_clear_reply(harness: Harness) -> None:
    h = harness
    h.services.roles._managers = frozenset({MANAGER})
    await start(h, MANAGER, "Mia")
    assert (await ask(h, "/export")).content.startswith("Usage: /export CAMPAIGN_ID [csv|")
    assert (await ask(h, "/export 999")).content == "There is no campaign 999."
    reply = await ask(h, "/export 1 <xml>")
    assert reply.content.startswith("Unknown export option '<xml>'")  # escaped: HTML parsed
    assert await h.tg.calls("sendDocument") == []
    # anyone else is refused by the refusals router
    await start(h, 502, "Bob")
    await h.tg.send_text(502, "/export 1")
    msgs = await h.tg.wait_for(502, 2)
    assert msgs[-1].content == "Sorry, that is only for campaign managers."
