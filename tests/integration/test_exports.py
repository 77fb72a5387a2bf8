"""Exports checked against the round results they come from, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from agreemint.errors import InvalidInput, NotFound
from agreemint.runtime import Services
from agreemint.services import exports as exports_module
from agreemint.services.exports import ExportService, pseudonym
from agreemint.store.models import Answer, Item, RoundResult, Worker
from tests.factories import make_campaign, make_workers
from tests.integration.test_rounds import answer

TRUTH = {"item 0": 0, "item 1": 1, "item 2": 2}


async def labelled(services: Services) -> int:
    """A campaign of 4 items at overlap 3: 3 resolved by a round, 1 left with one answer."""
    services.tasks._settings.gold_rate = 0.0
    campaign = await make_campaign(services, items=4, overlap=3)
    workers = await make_workers(services, 3)
    for n, w in enumerate(workers):
        await answer(services, w.telegram_id, w.id, {**TRUTH, "item 0": 1} if n == 2 else TRUTH)
    async with services.sessionmaker() as s:  # leave item 3 with fewer answers than overlap
        item3 = await s.scalar(select(Item).where(Item.text == "item 3"))
        assert item3 is not None
        for a in list(await s.scalars(select(Answer).where(Answer.item_id == item3.id)))[1:]:
            await s.delete(a)
        item3.answers_count = 1
        await s.commit()
    assert len(await services.rounds.run_all()) == 1
    return campaign


async def expected(services: Services) -> dict[str, tuple[str | None, float | None, int,
                                                           float | None]]:
    async with services.sessionmaker() as s:
        results = {r.item_id: r for r in await s.scalars(select(RoundResult))}
        return {
            i.external_id: (i.consensus_label, i.confidence, i.answers_count,
                            results[i.id].agreement if i.id in results else None)
            for i in await s.scalars(select(Item))
        }


async def test_csv_and_jsonl_match_the_round(services: Services, tmp_path: Path) -> None:
    cid = await labelled(services)
    want = await expected(services)
    assert want["i0"][0] == "cat" and want["i3"][0] is None
    exporter = ExportService(services.sessionmaker)
    seen: list[tuple[int, int]] = []
    assert await exporter.write(cid, "csv", tmp_path / "out.csv",
                                progress=lambda d, t: seen.append((d, t))) == 4
    assert seen == [(4, 4)]
    with (tmp_path / "out.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "text", "image", "label", "confidence", "answers",
                             "agreement", "gold"]
    got = {r["id"]: (r["label"] or None, float(r["confidence"]) if r["confidence"] else None,
                     int(r["answers"]), float(r["agreement"]) if r["agreement"] else None)
           for r in rows}
    assert got == want
    assert await exporter.write(cid, "jsonl", tmp_path / "out.jsonl", raw=True) == 4
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {x["id"]: (x["label"], x["confidence"], x["answers"], x["agreement"])
            for x in lines} == want
    async with services.sessionmaker() as s:
        stored = {(i.external_id, pseudonym(cid, a.worker_id), a.label) for a, i in (
            await s.execute(select(Answer, Item).join(Item, Item.id == Answer.item_id))).all()}
    assert {(x["id"], r["worker"], r["label"]) for x in lines for r in x["raw_answers"]} == stored


async def test_answers_csv_is_what_crowd_kit_reads(services: Services, tmp_path: Path) -> None:
    cid = await labelled(services)
    exporter = ExportService(services.sessionmaker)
    count = await exporter.write(cid, "answers", tmp_path / "answers.csv")
    with (tmp_path / "answers.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert count == len(rows) == 10 and list(rows[0]) == ["task", "worker", "label"]
    async with services.sessionmaker() as s:
        telegram_ids = {str(t) for t in await s.scalars(select(Worker.telegram_id))}
        stored = {(i.external_id, pseudonym(cid, a.worker_id), a.label) for a, i in (
            await s.execute(select(Answer, Item).join(Item, Item.id == Answer.item_id))).all()}
    assert {(r["task"], r["worker"], r["label"]) for r in rows} == stored
    workers = {r["worker"] for r in rows}
    assert len(workers) == 3 and not workers & telegram_ids
    # stable across exports, different in another campaign
    assert pseudonym(cid, 1) == pseudonym(cid, 1) != pseudonym(cid + 1, 1)


async def test_label_studio_predictions(services: Services, tmp_path: Path) -> None:
    cid = await labelled(services)
    want = await expected(services)
    out = tmp_path / "ls.json"
    assert await ExportService(services.sessionmaker).write(cid, "labelstudio", out) == 4
    tasks = json.loads(out.read_text())
    by_id = {t["data"]["id"]: t for t in tasks}
    assert by_id["i3"].get("predictions") is None and by_id["i3"]["data"]["text"] == "item 3"
    for key in ("i0", "i1", "i2"):
        [prediction] = by_id[key]["predictions"]
        assert prediction["score"] == want[key][1]
        assert prediction["result"][0]["value"]["choices"] == [want[key][0]]
        assert by_id[key]["meta"]["agreement"] == want[key][3]


async def test_paging_and_refusals(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports_module, "PAGE", 3)
    cid = await make_campaign(services, items=7)
    exporter = ExportService(services.sessionmaker)
    seen: list[tuple[int, int]] = []
    out = tmp_path / "p.jsonl"
    assert await exporter.write(cid, "jsonl", out, progress=lambda d, t: seen.append((d, t))) == 7
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == [
        f"i{n}" for n in range(7)]
    with pytest.raises(NotFound, match="no campaign 999"):
        await exporter.write(999, "csv", tmp_path / "x.csv")
    with pytest.raises(InvalidInput, match="Unknown export format 'xml'"):
        await exporter.write(cid, "xml", tmp_path / "x.xml")
