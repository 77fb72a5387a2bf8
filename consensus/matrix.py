"""The answer matrix: crowd answers encoded as integer codes plus decode tables.

Every aggregator works on an :class:`AnswerMatrix`, a sparse tasks × workers matrix of label
codes stored as three parallel integer arrays (one entry per answer), sorted by task then worker.

Ids may be any hashable values (ints, strings, tuples, ...). Decode tables:

* ``task_ids`` and ``worker_ids`` are in **sorted order** when the ids are mutually orderable
  (all numbers or all strings), otherwise in **first-seen order**;
* ``label_ids`` follows the ``label_ids=`` argument exactly when given (so a campaign's option
  list keeps its order and options nobody chose still get a column), otherwise the same rule.

Repeated (task, worker) pairs are resolved by ``duplicates=``: ``"last"`` (default: the worker's
latest answer wins, as if they changed their mind), ``"first"``, ``"keep"`` (every row counts as a
separate answer) or ``"error"`` (raise ``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
Duplicates = Literal["last", "first", "keep", "error"]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_id_array(values: Iterable[Hashable] | NDArray[Any], name: str) -> NDArray[Any]:
    """One-dimensional array of ids; rejects None/NaN with a clear ``ValueError``."""
    if isinstance(values, np.ndarray):
        arr = values
    else:
        seq = values if isinstance(values, Sequence) else list(values)
        try:
            arr = np.asarray(seq)
        except ValueError:  # ragged tuples and the like
            arr = np.empty(0)
        # np.asarray turns [1, "1"] into two equal strings and tuples into 2-D rows: keep the
        # original Python objects whenever numpy would change their identity.
        if arr.ndim != 1 or len(arr) != len(seq) or (
            arr.dtype.kind in "US" and not all(isinstance(v, str) for v in seq)
        ):
            arr = np.empty(len(seq), dtype=object)
            for i, v in enumerate(seq):
                arr[i] = v
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN at position {int(np.flatnonzero(np.isnan(arr))[0])}")
    if arr.dtype.kind == "O":
        bad = [i for i, v in enumerate(arr.tolist()) if _is_missing(v)]
        if bad:
            raise ValueError(f"{name} contains None/NaN at position {bad[0]}")
    return arr


def _encode(arr: NDArray[Any]) -> tuple[NDArray[Any], IntArray]:
    """(decode table, codes): sorted when orderable, else first-seen order."""
    if arr.dtype.kind != "O":
        uniq, codes = np.unique(arr, return_inverse=True)
        return uniq, codes.astype(np.int64, copy=False).reshape(-1)
    items = arr.tolist()
    try:
        table: list[Any] = sorted(set(items))
    except TypeError:  # mixed types that do not compare: first-seen order is still deterministic
        table = list(dict.fromkeys(items))
    index = {v: i for i, v in enumerate(table)}
    out = np.empty(len(table), dtype=object)
    out[:] = table if table else []
    return out, np.fromiter((index[v] for v in items), dtype=np.int64, count=len(items))


def _encode_with_table(
    arr: NDArray[Any], table_values: Iterable[Hashable]
) -> tuple[NDArray[Any], IntArray]:
    """Codes of ``arr`` into a caller-given table (order kept); unknown values raise."""
    table = _as_id_array(list(table_values), "label_ids")
    table_list = table.tolist()
    index = {v: i for i, v in enumerate(table_list)}
    if len(index) != len(table_list):
        raise ValueError("label_ids contains duplicates")
    uniq, codes = _encode(arr)
    remap = np.empty(len(uniq), dtype=np.int64)
    for j, v in enumerate(uniq.tolist()):
        if v not in index:
            raise ValueError(f"label {v!r} is not in label_ids {table_list!r}")
        remap[j] = index[v]
    return table, remap[codes]


@dataclass(frozen=True, eq=False)
class AnswerMatrix:
    """Answers as integer codes; arrays have shape ``(n_answers,)``, sorted by (task, worker).

    ``task[i]``, ``worker[i]``, ``label[i]`` index ``task_ids``, ``worker_ids``, ``label_ids``.
    Every task in ``task_ids`` has at least one answer; ``label_ids`` may hold labels nobody chose.
    """

    task: IntArray
    worker: IntArray
    label: IntArray
    task_ids: NDArray[Any]
    worker_ids: NDArray[Any]
    label_ids: NDArray[Any]

    @classmethod
    def from_triples(
        cls,
        tasks: Iterable[Hashable] | NDArray[Any],
        workers: Iterable[Hashable] | NDArray[Any],
        labels: Iterable[Hashable] | NDArray[Any],
        label_ids: Iterable[Hashable] | None = None,
        *,
        duplicates: Duplicates = "last",
    ) -> AnswerMatrix:
        """Encode parallel sequences of (task, worker, label) ids; see the module docstring."""
        t_arr = _as_id_array(tasks, "tasks")
        w_arr = _as_id_array(workers, "workers")
        l_arr = _as_id_array(labels, "labels")
        if not len(t_arr) == len(w_arr) == len(l_arr):
            raise ValueError(
                f"tasks, workers, labels differ in length: {len(t_arr)}, {len(w_arr)}, {len(l_arr)}"
            )
        task_ids, t = _encode(t_arr)
        worker_ids, w = _encode(w_arr)
        if label_ids is None:
            label_table, lab = _encode(l_arr)
        else:
            label_table, lab = _encode_with_table(l_arr, label_ids)
        keep = _resolve_duplicates(t, w, len(worker_ids), duplicates)
        return cls(t[keep], w[keep], lab[keep], task_ids, worker_ids, label_table)

    @property
    def n_answers(self) -> int:
        return int(self.task.shape[0])

    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def n_workers(self) -> int:
        return len(self.worker_ids)

    @property
    def n_labels(self) -> int:
        return len(self.label_ids)

    @cached_property
    def counts(self) -> IntArray:
        """Answers per task, shape ``(n_tasks,)``."""
        return np.bincount(self.task, minlength=self.n_tasks).astype(np.int64)

    @cached_property
    def task_starts(self) -> IntArray:
        """Start offset of each task's answers (answers are sorted by task), ``(n_tasks,)``."""
        return (np.cumsum(self.counts) - self.counts).astype(np.int64)

    @cached_property
    def vote_counts(self) -> NDArray[np.float64]:
        """Votes per (task, label), shape ``(n_tasks, n_labels)``."""
        flat = self.task * self.n_labels + self.label
        size = self.n_tasks * self.n_labels
        votes = np.bincount(flat, minlength=size).astype(np.float64)
        return votes.reshape(self.n_tasks, self.n_labels)

    @cached_property
    def worker_label_key(self) -> IntArray:
        """``worker * n_labels + label`` per answer: the row of a flattened confusion table."""
        return self.worker * self.n_labels + self.label

    @cached_property
    def worker_label_groups(self) -> tuple[IntArray, IntArray, IntArray]:
        """Answers grouped by (worker, label) for fast per-worker sums.

        Returns ``(order, keys, starts)``: ``order`` permutes answers so equal
        ``worker * n_labels + label`` keys are adjacent, ``keys`` are the distinct keys and
        ``starts`` their first offsets in the permuted order (for ``np.add.reduceat``).
        """
        key = self.worker_label_key
        if self.n_workers * self.n_labels <= 1 << 16:
            # 16-bit keys: numpy's stable sort is a radix sort (~4x faster than quicksort)
            order = np.argsort(key.astype(np.uint16), kind="stable")
        else:
            # quicksort (SIMD in numpy 2) beats the stable merge sort on wide keys; the order
            # inside a group only changes float summation order, and is deterministic
            order = np.argsort(key)
        sorted_key = key[order]
        if sorted_key.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return order.astype(np.int64), empty, empty
        boundary = np.flatnonzero(np.diff(sorted_key)) + 1
        starts = np.concatenate(([0], boundary)).astype(np.int64)
        return order.astype(np.int64), sorted_key[starts], starts

    def decode_labels(self, codes: NDArray[np.integer[Any]]) -> list[Any]:
        """Label ids (plain Python values) for an array of label codes."""
        return self.label_ids[np.asarray(codes, dtype=np.int64)].tolist()

    def task_codes(self, ids: Iterable[Hashable]) -> IntArray:
        """Codes of the given task ids; ``-1`` for ids not in the matrix."""
        index = {v: i for i, v in enumerate(self.task_ids.tolist())}
        return np.fromiter((index.get(v, -1) for v in ids), dtype=np.int64)

    def label_code(self, label: Hashable) -> int:
        """Code of one label id; ``ValueError`` if unknown."""
        index = {v: i for i, v in enumerate(self.label_ids.tolist())}
        if _is_missing(label) or label not in index:
            raise ValueError(f"label {label!r} is not one of {self.label_ids.tolist()!r}")
        return index[label]

def _resolve_duplicates(t: IntArray, w: IntArray, n_workers: int, how: Duplicates) -> IntArray:
    """Indices of the answers to keep, sorted by (task, worker)."""
    key = t * max(n_workers, 1) + w
    order = np.argsort(key, kind="stable")  # stable: equal keys stay in input order
    sk = key[order]
    if sk.size == 0 or how == "keep":
        return order
    same_as_next = np.zeros(sk.size, dtype=bool)
    same_as_next[:-1] = sk[1:] == sk[:-1]
    if how == "error":
        if same_as_next.any():
            i = int(order[np.flatnonzero(same_as_next)[0]])
            raise ValueError(f"repeated (task, worker) pair at answer {i}")
        return order
    if how == "last":
        return order[~same_as_next]
    if how == "first":
        same_as_prev = np.zeros(sk.size, dtype=bool)
        same_as_prev[1:] = same_as_next[:-1]
        return order[~same_as_prev]
    raise ValueError(f"duplicates must be 'last', 'first', 'keep' or 'error', got {how!r}")
