from __future__ import annotations

import math

import numpy as np
import pytest

from consensus import AnswerMatrix


def test_codes_and_decode_tables_are_sorted_and_round_trip() -> None:
    m = AnswerMatrix.from_triples(["b", "a", "b"], [2, 1, 1], ["y", "x", "x"])
    assert m.task_ids.tolist() == ["a", "b"]
    assert m.worker_ids.tolist() == [1, 2]
    assert m.label_ids.tolist() == ["x", "y"]
    triples = set(zip(m.task_ids[m.task].tolist(), m.worker_ids[m.worker].tolist(),
                      m.label_ids[m.label].tolist(), strict=True))
    assert triples == {("b", 2, "y"), ("a", 1, "x"), ("b", 1, "x")}
    assert m.counts.tolist() == [1, 2]
    assert np.all(np.diff(m.task) >= 0)  # sorted by task


def test_label_ids_keep_caller_order_and_unchosen_options() -> None:
    m = AnswerMatrix.from_triples([1, 2], [1, 1], ["no", "no"], label_ids=["yes", "no", "maybe"])
    assert m.label_ids.tolist() == ["yes", "no", "maybe"]
    assert m.label.tolist() == [1, 1]
    assert m.vote_counts.shape == (2, 3)


def test_label_outside_label_ids_is_rejected() -> None:
    with pytest.raises(ValueError, match="not in label_ids"):
        AnswerMatrix.from_triples([1], [1], ["other"], label_ids=["yes", "no"])


def test_mixed_types_are_not_conflated() -> None:
    m = AnswerMatrix.from_triples([1, "1", (2, 3)], ["w", "w", "w"], ["a", "a", "a"])
    assert m.n_tasks == 3


@pytest.mark.parametrize("bad", [None, float("nan")])
@pytest.mark.parametrize("column", [0, 1, 2])
def test_missing_ids_raise(bad: object, column: int) -> None:
    cols: list[list[object]] = [[1, 2], ["a", "b"], ["x", "y"]]
    cols[column][1] = bad
    with pytest.raises(ValueError, match="NaN"):
        AnswerMatrix.from_triples(*cols)


def test_nan_in_float_array_raises() -> None:
    with pytest.raises(ValueError, match="NaN"):
        AnswerMatrix.from_triples(np.array([1.0, math.nan]), [1, 2], [0, 1])


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        AnswerMatrix.from_triples([1, 2], [1], [0, 1])


@pytest.mark.parametrize(("how", "expected"), [("last", ["b"]), ("first", ["a"]),
                                               ("keep", ["a", "b"])])
def test_duplicate_pairs(how: str, expected: list[str]) -> None:
    m = AnswerMatrix.from_triples([1, 1], [7, 7], ["a", "b"], duplicates=how)  # type: ignore[arg-type]
    assert sorted(m.decode_labels(m.label)) == expected


def test_duplicate_pairs_error_mode() -> None:
    with pytest.raises(ValueError, match="repeated"):
        AnswerMatrix.from_triples([1, 1], [7, 7], ["a", "b"], duplicates="error")


def test_empty_matrix() -> None:
    m = AnswerMatrix.from_triples([], [], [], label_ids=["a", "b"])
    assert (m.n_tasks, m.n_workers, m.n_labels, m.n_answers) == (0, 0, 2, 0)
    assert m.vote_counts.shape == (0, 2)
