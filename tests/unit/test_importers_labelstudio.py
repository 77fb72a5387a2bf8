"""Label Studio task JSON: tasks become items; annotations become gold only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agreemint.domain import ItemKind
from agreemint.errors import InvalidInput
from agreemint.services.itemfile import parse_items

OPTIONS = ("cat", "dog")


def choice(label: str, cancelled: bool = False) -> dict[str, Any]:
    return {"was_cancelled": cancelled, "result": [
        {"type": "choices", "from_name": "label", "to_name": "text",
         "value": {"choices": [label]}}]}


def write(tmp_path: Path, tasks: Any, name: str = "project.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(tasks, indent=1), encoding="utf-8")
    return path


TASKS = [
    {"id": 7, "data": {"text": "meow"}, "annotations": [choice("dog", True), choice("cat")],
     "predictions": [{"result": [], "score": 0.5}]},
    {"id": 8, "data": {"image": "https://x/dog.jpg"}},
    {"data": {"text": "woof", "id": "own-id"}},
]


def test_tasks_become_items_and_annotations_gold_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path, TASKS)
    items = parse_items(path, OPTIONS)
    assert [(i.external_id, i.kind, i.gold_label) for i in items] == [
        ("ls-7", ItemKind.TEXT, None), ("ls-8", ItemKind.PHOTO, None),
        ("own-id", ItemKind.TEXT, None)]
    gold = parse_items(path, OPTIONS, annotations_as_gold=True)
    assert [i.gold_label for i in gold] == ["cat", None, None]


def test_every_problem_names_its_task(tmp_path: Path) -> None:
    two = choice("cat")
    two["result"][0]["value"]["choices"] = ["cat", "dog"]
    tasks = [{"data": {"text": "a"}, "annotations": [choice("horse")]}, {"nodata": 1}, 5,
             {"data": {}}, {"data": {"text": "b"}, "annotations": [two]},
             {"data": {"text": "a"}}, {"data": {"image": "/data/upload/1/x.png"}}]
    with pytest.raises(InvalidInput) as err:
        parse_items(write(tmp_path, tasks), OPTIONS, annotations_as_gold=True)
    message = err.value.user_message
    assert "nothing imported" in message
    for expected in ("task 1: gold label 'horse' is not one of cat, dog",
                     "task 2: expected an object with a \"data\" object",
                     "task 3: expected an object", "task 4: needs a text or an image",
                     "task 5: the annotation has 2 choices",
                     "task 6: duplicate text 'a' (first at task 1)",
                     "task 7: image file '/data/upload/1/x.png' not found"):
        assert expected in message


def test_broken_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"data": {"text": "a"}},\n {oops}\n]')
    with pytest.raises(InvalidInput, match="line 3: not valid JSON"):
        parse_items(bad, OPTIONS)
    with pytest.raises(InvalidInput, match="expected a list of Label Studio tasks"):
        parse_items(write(tmp_path, {"tasks": []}), OPTIONS)
    assert len(parse_items(write(tmp_path, {"data": {"text": "one"}}), OPTIONS)) == 1
