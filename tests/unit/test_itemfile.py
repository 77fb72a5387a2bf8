"""Item files: every problem reported with its line number, nothing imported on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput
from agreemint.services.itemfile import parse_items

OPTIONS = ("cat", "dog")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_text_photo_and_gold(tmp_path: Path) -> None:
    path = write(tmp_path, "items.csv",
                 "id,text,image,gold\na,A cat,,cat\nb,,https://x/y.jpg,\nc,\"Multi, line\",,\n")
    items = parse_items(path, OPTIONS)
    assert [(i.external_id, i.kind, i.gold_label) for i in items] == [
        ("a", ItemKind.TEXT, "cat"), ("b", ItemKind.PHOTO, None), ("c", ItemKind.TEXT, None)]


def test_jsonl(tmp_path: Path) -> None:
    lines = '{"id": 1, "text": "x"}\n\n{"image": "p.png", "gold": "dog"}\n'
    path = write(tmp_path, "items.jsonl", lines)
    items = parse_items(path, OPTIONS)
    assert [i.external_id for i in items] == ["1", "line-3"]
    assert items[1].gold_label == "dog"


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv",
                 "id,text,gold\na,fine,\nb,,\nc,x,horse\na,dup,\n")
    with pytest.raises(InvalidInput) as err:
        parse_items(path, OPTIONS)
    message = err.value.user_message
    assert "nothing imported" in message
    assert "line 3: needs a text or an image" in message
    assert "line 4: gold label 'horse' is not one of cat, dog" in message
    assert "line 5: duplicate id 'a' (first on line 2)" in message


def test_bad_json_and_wrong_extension(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="line 2: not valid JSON"):
        parse_items(write(tmp_path, "x.jsonl", '{"text": "ok"}\n{oops\n'), OPTIONS)
    with pytest.raises(InvalidInput, match=r"expected a \.csv or \.jsonl"):
        parse_items(write(tmp_path, "x.txt", "hello"), OPTIONS)
    with pytest.raises(InvalidInput, match="no items"):
        parse_items(write(tmp_path, "empty.csv", "id,text\n"), OPTIONS)
