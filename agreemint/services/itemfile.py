"""Read campaign items from CSV or JSONL; every problem is reported with its line number."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput

MAX_ITEMS = 100_000
MAX_TEXT = 3500  # leaves room in Telegram's 4096 characters for the task's header


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One item to import."""

    external_id: str
    kind: ItemKind
    text: str | None
    photo: str | None
    gold_label: str | None


def parse_items(path: Path, options: tuple[str, ...]) -> list[ItemSpec]:
    """Items from a `.csv` (header: id?, text?, image?, gold?) or `.jsonl` file; all-or-nothing."""
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".jsonl":
        rows = _jsonl_rows(raw)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(raw)
    else:
        raise InvalidInput(f"{path.name}: expected a .csv or .jsonl file")
    items: list[ItemSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
            continue
        item, problem = _item(line, row, options)
        if problem:
            problems.append(f"line {line}: {problem}")
        elif item is not None:
            if item.external_id in seen:
                problems.append(
                    f"line {line}: duplicate id {item.external_id!r} (first on line "
                    f"{seen[item.external_id]})"
                )
            seen[item.external_id] = line
            items.append(item)
    if not items and not problems:
        problems.append("the file has no items")
    if len(items) > MAX_ITEMS:
        problems.append(f"{len(items)} items; the limit is {MAX_ITEMS}")
    if problems:
        raise InvalidInput(f"{path.name}: nothing imported.\n" + "\n".join(problems[:50]))
    return items


def _csv_rows(raw: str) -> list[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames:
        return []
    return [(reader.line_num, dict(row)) for row in reader]


def _jsonl_rows(raw: str) -> list[tuple[int, dict[str, Any] | str]]:
    rows: list[tuple[int, dict[str, Any] | str]] = []
    for number, text in enumerate(raw.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            rows.append((number, f"not valid JSON ({exc.msg})"))
            continue
        rows.append((number, value if isinstance(value, dict) else "expected a JSON object"))
    return rows


def _item(
    line: int, row: dict[str, Any], options: tuple[str, ...]
) -> tuple[ItemSpec | None, str | None]:
    text = str(row.get("text") or "").strip() or None
    photo = str(row.get("image") or row.get("photo") or "").strip() or None
    gold = str(row.get("gold") or row.get("gold_label") or "").strip() or None
    external_id = str(row.get("id") or "").strip() or f"line-{line}"
    if text is None and photo is None:
        return None, "needs a text or an image"
    if text is not None and len(text) > MAX_TEXT:
        return None, f"text is {len(text)} characters; the limit is {MAX_TEXT}"
    if gold is not None and gold not in options:
        return None, f"gold label {gold!r} is not one of {', '.join(options)}"
    kind = ItemKind.PHOTO if photo else ItemKind.TEXT
    return ItemSpec(external_id, kind, text, photo, gold), None
