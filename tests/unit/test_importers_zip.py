"""A ZIP of images: items per image, an optional mapping CSV, nothing extracted on error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput
from agreemint.services.importers import limits
from agreemint.services.itemfile import parse_items

OPTIONS = ("cat", "dog")
PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff\xe0"


def make_zip(tmp_path: Path, members: dict[str, bytes | str], name: str = "pics.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def refused(path: Path, media: Path) -> str:
    with pytest.raises(InvalidInput) as err:
        parse_items(path, OPTIONS, media_dir=media)
    assert not media.exists() or not any(media.iterdir())  # nothing extracted
    return err.value.user_message


def test_images_with_a_mapping_become_items(tmp_path: Path) -> None:
    media = tmp_path / "media"
    path = make_zip(tmp_path, {
        "set/a.png": PNG + b"a", "set/b.jpeg": JPEG + b"b", "c.webp": b"RIFF\0\0\0\0WEBPc",
        "set/labels.csv": "file,id,gold,text\na.png,A,cat,Is it a cat?\nb.jpeg,,dog,\n",
        "__MACOSX/set/._a.png": b"junk", ".DS_Store": b"junk",
    })
    items = parse_items(path, OPTIONS, media_dir=media)
    assert [(i.external_id, i.kind, i.gold_label, i.text) for i in items] == [
        ("c.webp", ItemKind.PHOTO, None, None),
        ("A", ItemKind.PHOTO, "cat", "Is it a cat?"),
        ("set/b.jpeg", ItemKind.PHOTO, "dog", None),
    ]
    for item in items:
        assert item.photo is not None and Path(item.photo).parent == media.resolve()
    assert Path(items[1].photo or "").read_bytes() == PNG + b"a"
    assert Path(items[2].photo or "").suffix == ".jpg"
    # a second import of the same images reuses the stored files
    assert parse_items(path, OPTIONS, media_dir=media) == items
    assert len(list(media.iterdir())) == 3


def test_every_problem_is_named_by_member(tmp_path: Path) -> None:
    media = tmp_path / "media"
    path = make_zip(tmp_path, {
        "a.png": PNG + b"same", "b.png": PNG + b"same", "fake.jpg": b"GIF89a", "doc.pdf": b"%",
        "items.csv": "file,gold\na.png,horse\nmissing.png,cat\na.png,dog\n",
    })
    message = refused(path, media)
    assert "items.csv line 3: no image 'missing.png' in the archive" in message
    assert "items.csv line 4: 'a.png' is listed twice (first at items.csv line 2)" in message
    assert "a.png: gold label 'horse' is not one of cat, dog" in message
    assert "doc.pdf: not an image" in message
    assert "fake.jpg: the content is not a JPEG, PNG or WebP image" in message
    assert "b.png: duplicate image 'sha256:" in message  # same bytes as a.png


def test_broken_archives_and_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = tmp_path / "media"
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert "not a readable ZIP archive" in refused(junk, media)
    assert "no items" in refused(make_zip(tmp_path, {"dir/": b""}, "empty.zip"), media)
    assert "more than one items.csv" in refused(
        make_zip(tmp_path, {"items.csv": "file\n", "x/labels.csv": "file\n"}, "m.zip"), media)
    assert "items.csv line 1: needs a file column" in refused(
        make_zip(tmp_path, {"items.csv": "name\n", "a.png": PNG}, "n.zip"), media)
    big = make_zip(tmp_path, {"a.png": PNG + b"x" * 100, "b.png": PNG + b"y"}, "big.zip")
    monkeypatch.setattr(limits, "MAX_IMAGE_BYTES", 50)
    assert "a.png: 108 bytes; Telegram takes photos up to 50" in refused(big, media)
    monkeypatch.setattr(limits, "MAX_ZIP_UNPACKED_BYTES", 100)
    assert "unpacks to 117 bytes; the limit is 100" in refused(big, media)
    monkeypatch.setattr(limits, "MAX_ZIP_BYTES", 10)
    assert "the limit is 10" in refused(big, media)
    with pytest.raises(InvalidInput, match="needs a folder"):
        parse_items(big, OPTIONS)
