"""CSV and JSONL item files: every problem reported with its line number, nothing on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput
from agreemint.services.importers import limits
from agreemint.services.itemfile import parse_items

OPTIONS = ("cat", "dog")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, **kwargs: object) -> str:
    with pytest.raises(InvalidInput) as err:
        parse_items(path, OPTIONS, **kwargs)  # type: ignore[arg-type]
    message = err.value.user_message
    assert "nothing imported" in message
    return message


def test_csv_with_text_photo_and_gold(tmp_path: Path) -> None:
    path = write(tmp_path, "items.csv",
                 "id,text,image,gold\na,A cat,,cat\nb,,https://x/y.jpg,\nc,\"Multi, line\",,\n")
    items = parse_items(path, OPTIONS)
    assert [(i.external_id, i.kind, i.gold_label) for i in items] == [
        ("a", ItemKind.TEXT, "cat"), ("b", ItemKind.PHOTO, None), ("c", ItemKind.TEXT, None)]


def test_jsonl_with_a_local_image_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "p.png").write_bytes(PNG)
    lines = '{"id": 1, "text": "x"}\n\n{"image": "p.png", "gold": "dog"}\n'
    items = parse_items(write(tmp_path, "items.jsonl", lines), OPTIONS)
    assert [i.external_id for i in items] == ["1", "line-3"]
    assert items[1].gold_label == "dog"
    assert items[1].photo == str((tmp_path / "p.png").resolve())


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv",
                 "id,text,gold\na,fine,\nb,,\nc,x,horse\na,dup,\nd,fine,\n")
    message = problems(path)
    assert "line 3: needs a text or an image" in message
    assert "line 4: gold label 'horse' is not one of cat, dog" in message
    assert "line 5: duplicate id 'a' (first at line 2)" in message
    assert "line 6: duplicate text 'fine' (first at line 2)" in message


def test_duplicate_images_and_bad_local_images(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    path = write(tmp_path, "bad.csv", "image\nhttps://x/a.jpg\nhttps://x/a.jpg\nmissing.png\n"
                 "notes.txt\n")
    message = problems(path)
    assert "line 3: duplicate image 'https://x/a.jpg' (first at line 2)" in message
    assert "line 4: image file 'missing.png' not found" in message
    assert "line 5: image 'notes.txt' is not a" in message


def test_local_paths_can_be_refused(tmp_path: Path) -> None:
    (tmp_path / "p.png").write_bytes(PNG)
    path = write(tmp_path, "x.csv", "image\np.png\nhttps://x/ok.jpg\n")
    assert "line 2: image 'p.png' must be an http(s) URL" in problems(path, local_images=False)


def test_bad_json_and_wrong_extension(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 2: not valid JSON"):
        parse_items(write(tmp_path, "x.jsonl", '{"text": "ok"}\n{oops\n'), OPTIONS)
    with pytest.raises(InvalidInput, match="line 1: expected a JSON object"):
        parse_items(write(tmp_path, "y.jsonl", '[1]\n'), OPTIONS)
    with pytest.raises(InvalidInput, match=r"expected a \.csv, \.jsonl"):
        parse_items(write(tmp_path, "x.txt", "hello"), OPTIONS)
    with pytest.raises(InvalidInput, match="no items"):
        parse_items(write(tmp_path, "empty.csv", "id,text\n"), OPTIONS)


def test_broken_csv_shapes(tmp_path: Path) -> None:
    assert "line 1: the header names none of" in problems(write(tmp_path, "a.csv", "x,y\n1,2\n"))
    assert "line 3: more cells than the header" in problems(
        write(tmp_path, "b.csv", "id,text\n1,a\n2,b,extra\n"))
    bad = tmp_path / "c.csv"
    bad.write_bytes(b"id,text\n1,\xff\xfe\n")
    assert "not UTF-8" in problems(bad)


def test_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ITEMS", 2)
    path = write(tmp_path, "many.csv", "text\na\nb\nc\n")
    assert "3 items; the limit is 2" in problems(path)
    monkeypatch.setattr(limits, "MAX_TEXT", 3)
    assert "line 2: text is 4 characters; the limit is 3" in problems(
        write(tmp_path, "long.csv", "text\nabcd\n"))
    monkeypatch.setattr(limits, "MAX_TEXT_FILE_BYTES", 10)
    assert "the limit is 10" in problems(path)


def test_many_problems_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PROBLEMS_SHOWN", 3)
    message = problems(write(tmp_path, "e.csv", "id,text\n" + "".join(f"{n},\n" for n in range(5))))
    assert "line 4: needs" in message and "line 5:" not in message
    assert "... and 2 more problems" in message


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    parse_items(write(tmp_path, "p.csv", "text\na\nb\n"), OPTIONS,
                progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]
