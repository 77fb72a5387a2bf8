"""A ZIP of images: each image is an item; an optional `items.csv` (or `labels.csv`) inside maps
file names to ids, texts and gold labels.

Images are checked (type by content, size) and hashed while validating, and extracted only
after the whole archive passed, under content-addressed names: nothing is written for a bad
archive, a member's own path (`../x`) never decides where a file lands, and one image used by
two campaigns is stored once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from agreemint.services.importers import limits
from agreemint.services.importers.common import Problems, Progress, RawItem, check_size, clean

MAPPING_NAMES = ("items.csv", "labels.csv")
FILE_COLUMNS = ("file", "image", "filename", "file_name")


@dataclass(slots=True)
class ZipPlan:
    """What a valid archive turns into: items, and the members to extract for them."""

    items: list[RawItem] = field(default_factory=list)
    extract: list[tuple[str, Path]] = field(default_factory=list)  # (member, destination)


def read_zip(path: Path, media_dir: Path, problems: Problems) -> ZipPlan:
    check_size(path, limits.MAX_ZIP_BYTES)
    plan = ZipPlan()
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        problems.add("", "not a readable ZIP archive")
        return plan
    with archive:
        infos = [i for i in archive.infolist() if not _ignored(i)]
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits.MAX_ZIP_UNPACKED_BYTES:
            problems.add("", f"unpacks to {unpacked:,} bytes; the limit is "
                             f"{limits.MAX_ZIP_UNPACKED_BYTES:,}")
            return plan
        mappings = [i for i in infos if PurePosixPath(i.filename).name.lower() in MAPPING_NAMES]
        images = [i for i in infos if i not in mappings]
        if len(mappings) > 1:
            problems.add("", "more than one items.csv/labels.csv: "
                             + ", ".join(m.filename for m in mappings))
            return plan
        rows = _mapping(archive, mappings[0], problems) if mappings else {}
        known = {i.filename for i in images}
        for name, (where, _row) in rows.items():
            if name not in known:
                problems.add(where, f"no image {name!r} in the archive")
        for info in sorted(images, key=lambda i: i.filename):
            _image(archive, info, rows, media_dir, plan, problems)
    return plan


def extract(path: Path, plan: ZipPlan, progress: Progress | None = None) -> None:
    """Write the planned images (already validated); an existing file is the same content."""
    with zipfile.ZipFile(path) as archive:
        for done, (member, dest) in enumerate(plan.extract, start=1):
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                partial = dest.with_name(dest.name + ".part")
                partial.write_bytes(archive.read(member))
                os.replace(partial, dest)  # atomic: a crash never leaves half an image
            if progress is not None:
                progress(done, len(plan.extract))


def _ignored(info: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(info.filename)
    return (info.is_dir() or name.parts[0] == "__MACOSX"
            or any(part.startswith(".") for part in name.parts))


def _mapping(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, problems: Problems
) -> dict[str, tuple[str, dict[str, str | None]]]:
    """Member name -> (where, row) from the mapping CSV."""
    folder = PurePosixPath(info.filename).parent
    try:
        text = archive.read(info).decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add(info.filename, "not UTF-8 text")
        return {}
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    file_column = next((c for c in FILE_COLUMNS if c in columns), None)
    if file_column is None:
        problems.add(f"{info.filename} line 1", "needs a file column (file, image or filename)")
        return {}
    rows: dict[str, tuple[str, dict[str, str | None]]] = {}
    for row in reader:
        where = f"{info.filename} line {reader.line_num}"
        cells = {k.strip().lower(): clean(v) for k, v in row.items() if k}
        name = cells.get(file_column)
        if name is None:
            problems.add(where, "the file name is empty")
            continue
        member = str(folder / name) if str(folder) != "." else name
        if member in rows:
            problems.add(where, f"{name!r} is listed twice (first at {rows[member][0]})")
            continue
        rows[member] = (where, cells)
    return rows


def _image(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo,
    rows: dict[str, tuple[str, dict[str, str | None]]], media_dir: Path, plan: ZipPlan,
    problems: Problems,
) -> None:
    where = info.filename
    suffix = PurePosixPath(info.filename).suffix.lower()
    if suffix not in limits.IMAGE_SUFFIXES:
        problems.add(where, f"not an image ({'/'.join(limits.IMAGE_SUFFIXES)})")
        return
    if info.file_size > limits.MAX_IMAGE_BYTES:
        problems.add(where, f"{info.file_size:,} bytes; Telegram takes photos up to "
                            f"{limits.MAX_IMAGE_BYTES:,}")
        return
    data = archive.read(info)
    if not _looks_like_image(data):
        problems.add(where, "the content is not a JPEG, PNG or WebP image")
        return
    digest = hashlib.sha256(data).hexdigest()
    dest = media_dir / f"{digest[:32]}{'.jpg' if suffix == '.jpeg' else suffix}"
    cells = rows.get(info.filename, ("", {}))[1]
    plan.items.append(RawItem(
        where=where, external_id=cells.get("id") or info.filename, text=cells.get("text"),
        photo=str(dest.resolve()), gold=cells.get("gold") or cells.get("gold_label"),
        photo_key=f"sha256:{digest}",
    ))
    plan.extract.append((info.filename, dest))


def _looks_like_image(data: bytes) -> bool:
    return (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"))
