"""Campaign items from a file: CSV, JSONL, a ZIP of images, or Label Studio's task JSON.

All-or-nothing: every problem is reported with where it is (line, task number or ZIP member)
and nothing is imported (nor extracted) while any remains. Limits: `importers.limits`.
"""

from __future__ import annotations

from pathlib import Path

from agreemint.errors import InvalidInput
from agreemint.services.importers import csv_jsonl, labelstudio, limits, zipfile_images
from agreemint.services.importers.common import ItemSpec, Problems, Progress, validate

__all__ = ["FORMATS", "MAX_ITEMS", "MAX_TEXT", "ItemSpec", "parse_items"]

FORMATS = (".csv", ".jsonl", ".ndjson", ".json", ".zip")
# Kept for callers that quote them; the checks read `importers.limits`.
MAX_ITEMS = limits.MAX_ITEMS
MAX_TEXT = limits.MAX_TEXT


def parse_items(
    path: Path, options: tuple[str, ...], *, media_dir: Path | None = None,
    annotations_as_gold: bool = False, local_images: bool = True,
    progress: Progress | None = None,
) -> list[ItemSpec]:
    """Items from `path`, by its suffix.

    - `.csv` (header: id?, text?, image?, gold?) and `.jsonl` (objects with those keys);
    - `.json`: Label Studio tasks; `annotations_as_gold` turns a single-choice annotation into
      the item's gold label;
    - `.zip`: images, extracted into `media_dir` (required) once the archive is valid.

    `local_images=False` refuses image paths on this machine (for files uploaded in chat, where
    a path would let a user make the bot send any server file). `progress(done, total)` is
    called while checking items and extracting images.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInput(f"{path.name}: expected a {', '.join(FORMATS)} file")
    problems = Problems()
    base_dir = path.parent
    if suffix == ".zip":
        if media_dir is None:
            raise InvalidInput("a ZIP of images needs a folder for its images (media_dir)")
        plan = zipfile_images.read_zip(path, media_dir, problems)
        items = validate(plan.items, options, problems, progress, len(plan.items))
        problems.raise_if_any(path.name)
        zipfile_images.extract(path, plan, progress)
        return items
    if suffix == ".json":
        tasks = labelstudio.read_tasks(path, problems)
        raw = labelstudio.raw_items(tasks, base_dir, local_images, annotations_as_gold, problems)
        items = validate(raw, options, problems, progress, len(tasks))
    else:
        rows = csv_jsonl.read_rows(path, problems)
        raw = csv_jsonl.raw_items(rows, base_dir, local_images, problems)
        items = validate(raw, options, problems, progress, len(rows))
    problems.raise_if_any(path.name)
    return items
