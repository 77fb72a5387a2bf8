"""What every importer shares: the item spec, problem collection, and the checks on items."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput
from agreemint.services.importers import limits

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One item to import."""

    external_id: str
    kind: ItemKind
    text: str | None
    photo: str | None
    gold_label: str | None
    # Shown with the right label when a worker gets this gold question wrong in training.
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class RawItem:
    """An item as a file states it, before the checks; `where` names its place in the file."""

    where: str
    external_id: str
    text: str | None
    photo: str | None
    gold: str | None
    # What makes two images the same: the URL or path, or the bytes' hash inside a ZIP.
    photo_key: str | None = None
    hint: str | None = None


class Problems:
    """Every problem found in a file, each with where it is; raised together at the end."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.found.append(f"{where}: {message}" if where else message)

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self, file_name: str) -> None:
        if not self.found:
            return
        shown = self.found[: limits.MAX_PROBLEMS_SHOWN]
        more = len(self.found) - len(shown)
        tail = [f"... and {more} more problems"] if more else []
        raise InvalidInput(f"{file_name}: nothing imported.\n" + "\n".join(shown + tail))


def clean(value: object) -> str | None:
    """A cell or JSON value as stripped text; empty and missing both mean None."""
    if value is None:
        return None
    return str(value).strip() or None


def check_size(path: Path, limit: int) -> None:
    size = path.stat().st_size
    if size > limit:
        raise InvalidInput(
            f"{path.name}: nothing imported.\nthe file is {size:,} bytes; the limit is {limit:,}"
        )


def resolve_photo(value: str, base_dir: Path, local_images: bool) -> tuple[str | None, str | None]:
    """(photo, problem). URLs pass as they are (Telegram fetches them); a local path must be an
    existing image, resolved against the file's folder so a CSV can sit next to its images."""
    if value.startswith(("http://", "https://")):
        return value, None
    if not local_images:
        return None, f"image {value!r} must be an http(s) URL here"
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    if path.suffix.lower() not in limits.IMAGE_SUFFIXES:
        return None, f"image {value!r} is not a {'/'.join(limits.IMAGE_SUFFIXES)} file"
    if not path.is_file():
        return None, f"image file {value!r} not found"
    return str(path.resolve()), None


def validate(
    raw_items: Iterable[RawItem], options: tuple[str, ...], problems: Problems,
    progress: Progress | None = None, total: int = 0,
) -> list[ItemSpec]:
    """Checks each item and the duplicates among them; problems go to `problems`."""
    items: list[ItemSpec] = []
    first: dict[tuple[str, str], str] = {}  # (what, value) -> where it was first seen
    for done, raw in enumerate(raw_items, start=1):
        if progress is not None:
            progress(done, total)
        problem = _problem(raw, options)
        if problem:
            problems.add(raw.where, problem)
        # Duplicates count against every row, even a broken one: fixing it must not reveal
        # a second round of problems.
        for what, value in (("id", raw.external_id), ("text", raw.text),
                            ("image", raw.photo_key or raw.photo)):
            if value is None:
                continue
            if (what, value) in first:
                shown = value if len(value) <= 40 else value[:37] + "..."
                problems.add(raw.where, f"duplicate {what} {shown!r} (first at "
                                        f"{first[what, value]})")
            else:
                first[what, value] = raw.where
        if problem:
            continue
        kind = ItemKind.PHOTO if raw.photo else ItemKind.TEXT
        items.append(ItemSpec(raw.external_id, kind, raw.text, raw.photo, raw.gold, raw.hint))
    if not items and not problems:
        problems.add("", "the file has no items")
    if len(items) > limits.MAX_ITEMS:
        problems.add("", f"{len(items):,} items; the limit is {limits.MAX_ITEMS:,}")
    return items


def _problem(raw: RawItem, options: tuple[str, ...]) -> str | None:
    if raw.text is None and raw.photo is None:
        return "needs a text or an image"
    if raw.text is not None and len(raw.text) > limits.MAX_TEXT:
        return f"text is {len(raw.text)} characters; the limit is {limits.MAX_TEXT}"
    if len(raw.external_id) > 200:
        return "the id is longer than 200 characters"
    if raw.gold is not None and raw.gold not in options:
        return f"gold label {raw.gold!r} is not one of {', '.join(options)}"
    return None
