"""Label Studio's JSON task export: `[{"id": 1, "data": {"text"|"image": ...}, "annotations":
[...]}, ...]`, so a project can move here.

Annotations are people's answers, not verified truth, so they become gold labels only when the
import asks for it (`annotations_as_gold`); predictions are always ignored.
"""

from __future__ import annotations

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


def read_tasks(path: Path, problems: Problems) -> list[Any]:
    check_size(path, limits.MAX_TEXT_FILE_BYTES)
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        problems.add("", f"not UTF-8 text (byte {exc.start})")
        return []
    except json.JSONDecodeError as exc:
        problems.add(f"line {exc.lineno}", f"not valid JSON ({exc.msg})")
        return []
    if isinstance(value, dict) and "data" in value:
        value = [value]  # a single task
    if not isinstance(value, list):
        problems.add("", "expected a list of Label Studio tasks")
        return []
    return value


def raw_items(
    tasks: list[Any], base_dir: Path, local_images: bool, annotations_as_gold: bool,
    problems: Problems,
) -> Iterator[RawItem]:
    for index, task in enumerate(tasks, start=1):
        where = f"task {index}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            problems.add(where, "expected an object with a \"data\" object")
            continue
        photo = clean(data.get("image"))
        if photo is not None:
            photo, problem = resolve_photo(photo, base_dir, local_images)
            if problem:
                problems.add(where, problem)
                continue
        gold, problem = _gold(task) if annotations_as_gold else (None, None)
        if problem:
            problems.add(where, problem)
            continue
        task_id = clean(task.get("id"))
        yield RawItem(
            where=where,
            external_id=clean(data.get("id")) or (f"ls-{task_id}" if task_id else f"task-{index}"),
            text=clean(data.get("text")),
            photo=photo,
            gold=gold,
        )


def _gold(task: dict[str, Any]) -> tuple[str | None, str | None]:
    """(label, problem) from the first annotation that was not cancelled."""
    for annotation in task.get("annotations") or []:
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        choices = [
            choice
            for result in annotation.get("result") or []
            if isinstance(result, dict) and result.get("type") == "choices"
            for choice in (result.get("value") or {}).get("choices") or []
        ]
        if len(choices) != 1:
            return None, f"the annotation has {len(choices)} choices; a gold label needs one"
        return clean(choices[0]), None
    return None, None
