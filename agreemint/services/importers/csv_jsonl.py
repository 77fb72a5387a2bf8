"""CSV (header: id?, text?, image?, gold?, hint?) and JSONL (one object per line, same keys)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agreemint.services.importers import limits
from agreemint.services.importers.common import (
    Problems,
    RawItem,
    check_size,
    clean,
    resolve_photo,
)

KNOWN_COLUMNS = {"id", "text", "image", "photo", "gold", "gold_label", "hint"}


def read_rows(path: Path, problems: Problems) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for every row; unreadable lines go to `problems`."""
    check_size(path, limits.MAX_TEXT_FILE_BYTES)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add("", f"not UTF-8 text (byte {exc.start})")
        return []
    if path.suffix.lower() == ".csv":
        return list(_csv_rows(raw, problems))
    return list(_jsonl_rows(raw, problems))


def raw_items(
    rows: list[tuple[int, dict[str, Any]]], base_dir: Path, local_images: bool,
    problems: Problems,
) -> Iterator[RawItem]:
    for line, row in rows:
        where = f"line {line}"
        photo = clean(row.get("image") or row.get("photo"))
        if photo is not None:
            photo, problem = resolve_photo(photo, base_dir, local_images)
            if problem:
                problems.add(where, problem)
                continue
        yield RawItem(
            where=where,
            external_id=clean(row.get("id")) or f"line-{line}",
            text=clean(row.get("text")),
            photo=photo,
            gold=clean(row.get("gold") or row.get("gold_label")),
            hint=clean(row.get("hint")),
        )


def _csv_rows(raw: str, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(raw))
    try:
        fields = reader.fieldnames or []
        if fields and not KNOWN_COLUMNS & {f.strip().lower() for f in fields}:
            problems.add("line 1", "the header names none of id, text, image, gold")
            return
        for row in reader:
            if None in row:  # more cells than the header has columns
                problems.add(f"line {reader.line_num}", "more cells than the header has columns")
                continue
            yield reader.line_num, {k.strip().lower(): v for k, v in row.items() if k}
    except csv.Error as exc:
        problems.add(f"line {reader.line_num}", f"unreadable CSV ({exc})")


def _jsonl_rows(raw: str, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(raw.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(f"line {number}", f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(value, dict):
            problems.add(f"line {number}", "expected a JSON object")
            continue
        yield number, value
