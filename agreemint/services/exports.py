"""Labels out of a campaign: CSV, JSONL, raw answers for truth-inference tools, Label Studio.

Exports stream: items are read a page at a time (keyset on the id) and each row is written
as it is read, so memory stays flat however large the campaign is.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agreemint.domain import SEPARATOR, TaskType
from agreemint.errors import InvalidInput, NotFound
from agreemint.store.engine import SessionMaker
from agreemint.store.models import Answer, Campaign, Item, RoundResult

FORMATS = ("csv", "jsonl", "answers", "labelstudio")
SUFFIXES = {"csv": ".csv", "jsonl": ".jsonl", "answers": ".csv", "labelstudio": ".json"}
ITEM_COLUMNS = ("id", "text", "image", "label", "confidence", "answers", "agreement", "gold")
PAGE = 1000

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One item with its outcome; label, confidence and agreement are None until resolved."""

    id: str
    text: str | None
    image: str | None
    label: str | None
    confidence: float | None
    answers: int
    agreement: float | None
    gold: str | None
    raw: tuple[tuple[str, str], ...] = ()  # (worker, label) when asked for

    def as_dict(self, raw: bool) -> dict[str, Any]:
        row: dict[str, Any] = {c: getattr(self, c) for c in ITEM_COLUMNS}
        if raw:
            row["raw_answers"] = [{"worker": w, "label": label} for w, label in self.raw]
        return row


def pseudonym(campaign_id: int, worker_id: int) -> str:
    """A worker's id in exports: stable within a campaign, never the Telegram id, and not
    linkable across campaigns by comparing exports."""
    digest = hashlib.blake2b(f"{campaign_id}:{worker_id}".encode(), digest_size=6).hexdigest()
    return f"w{digest}"


class ExportService:
    """Writes a campaign's labels to a file; see FORMATS."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sm = sessionmaker

    async def write(
        self, campaign_id: int, fmt: str, out_path: Path, *, raw: bool = False,
        progress: Progress | None = None,
    ) -> int:
        """Rows written (items, or answers for "answers"). `raw` adds each item's answers to
        csv/jsonl. `progress(done, total)` is called after every page."""
        if fmt not in FORMATS:
            raise InvalidInput(f"Unknown export format {fmt!r}; use one of {', '.join(FORMATS)}.")
        async with self._sm() as session:
            campaign = await session.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"There is no campaign {campaign_id}.")
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with out_path.open("w", encoding="utf-8", newline="") as out:
                if fmt == "answers":
                    return await _write_answers(session, campaign_id, out, progress)
                total = await _count(session, Item, campaign_id)
                rows = _item_rows(session, campaign_id, raw, total, progress)
                if fmt == "csv":
                    return await _write_csv(rows, out, raw)
                if fmt == "jsonl":
                    return await _write_jsonl(rows, out, raw)
                return await _write_labelstudio(rows, out, campaign.name, campaign.task_type)


async def _count(session: AsyncSession, model: type[Item] | type[Answer], cid: int) -> int:
    query = select(func.count()).select_from(Item).where(Item.campaign_id == cid)
    if model is Answer:
        query = query.join(Answer, Answer.item_id == Item.id)
    return int(await session.scalar(query) or 0)


async def _item_rows(
    session: AsyncSession, campaign_id: int, raw: bool, total: int, progress: Progress | None,
) -> AsyncIterator[ItemRow]:
    last, done = 0, 0
    while True:
        items = list(await session.scalars(
            select(Item).where(Item.campaign_id == campaign_id, Item.id > last)
            .order_by(Item.id).limit(PAGE)))
        if not items:
            return
        ids = [i.id for i in items]
        results = await _latest_results(session, ids)
        answers = await _answers_by_item(session, campaign_id, ids) if raw else {}
        for item in items:
            result = results.get(item.id)
            yield ItemRow(
                id=item.external_id, text=item.text, image=item.photo,
                label=item.consensus_label if item.resolved else None,
                confidence=item.confidence if item.resolved else None,
                answers=item.answers_count,
                agreement=result.agreement if result is not None else None,
                gold=item.gold_label, raw=tuple(answers.get(item.id, ())),
            )
        last, done = ids[-1], done + len(items)
        if progress is not None:
            progress(done, total)


async def _latest_results(session: AsyncSession, ids: list[int]) -> dict[int, RoundResult]:
    # An item is labelled by one round, but keep the newest should one ever be relabelled.
    rows = await session.scalars(
        select(RoundResult).where(RoundResult.item_id.in_(ids)).order_by(RoundResult.round_id))
    return {r.item_id: r for r in rows}


async def _answers_by_item(
    session: AsyncSession, campaign_id: int, ids: list[int]
) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    rows = await session.execute(
        select(Answer.item_id, Answer.worker_id, Answer.label)
        .where(Answer.item_id.in_(ids)).order_by(Answer.id))
    for item_id, worker_id, label in rows:
        found.setdefault(item_id, []).append((pseudonym(campaign_id, worker_id), label))
    return found


async def _write_csv(rows: AsyncIterator[ItemRow], out: IO[str], raw: bool) -> int:
    writer = csv.writer(out)
    writer.writerow([*ITEM_COLUMNS, *(("raw_answers",) if raw else ())])
    count = 0
    async for row in rows:
        cells: list[Any] = [_cell(v) for v in row.as_dict(False).values()]
        if raw:
            # One CSV cell per item: the answers as JSON (the answers format has one per row).
            cells.append(json.dumps([{"worker": w, "label": lb} for w, lb in row.raw]))
        writer.writerow(cells)
        count += 1
    return count


async def _write_jsonl(rows: AsyncIterator[ItemRow], out: IO[str], raw: bool) -> int:
    count = 0
    async for row in rows:
        out.write(json.dumps(row.as_dict(raw), ensure_ascii=False) + "\n")
        count += 1
    return count


async def _write_labelstudio(
    rows: AsyncIterator[ItemRow], out: IO[str], name: str, task_type: str
) -> int:
    # A JSON array written piece by piece, so a large campaign is never one big string.
    out.write("[")
    count = 0
    async for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(_task(row, name, task_type), ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


def _task(row: ItemRow, campaign: str, task_type: str) -> dict[str, Any]:
    data: dict[str, Any] = {"id": row.id}
    if row.text is not None:
        data["text"] = row.text
    if row.image is not None:
        data["image"] = row.image
    task: dict[str, Any] = {"data": data, "meta": {"answers": row.answers,
                                                   "agreement": row.agreement}}
    if row.label is not None:
        to_name = "image" if row.image is not None else "text"
        task["predictions"] = [{
            "model_version": f"agreemint: {campaign}",
            "score": row.confidence,
            "result": [{"from_name": "label", "to_name": to_name, **_value(row.label, task_type)}],
        }]
    return task


def _value(label: str, task_type: str) -> dict[str, Any]:
    """Label Studio's result value: a selection is a list of choices, free text a textarea."""
    if task_type == TaskType.FREE_TEXT:
        return {"type": "textarea", "value": {"text": [label]}}
    choices = label.split(SEPARATOR) if task_type == TaskType.MULTIPLE_CHOICE else [label]
    return {"type": "choices", "value": {"choices": choices}}


async def _write_answers(
    session: AsyncSession, campaign_id: int, out: IO[str], progress: Progress | None,
) -> int:
    """`task,worker,label`: the long format crowd-kit's aggregators read."""
    total = await _count(session, Answer, campaign_id)
    writer = csv.writer(out)
    writer.writerow(["task", "worker", "label"])
    last, done = 0, 0
    while True:
        page = (await session.execute(
            select(Answer.id, Item.external_id, Answer.worker_id, Answer.label)
            .join(Item, Item.id == Answer.item_id)
            .where(Item.campaign_id == campaign_id, Answer.id > last)
            .order_by(Answer.id).limit(PAGE))).all()
        if not page:
            return done
        writer.writerows((task, pseudonym(campaign_id, w), label) for _, task, w, label in page)
        last, done = page[-1][0], done + len(page)
        if progress is not None:
            progress(done, total)


def _cell(value: Any) -> Any:
    return "" if value is None else value
