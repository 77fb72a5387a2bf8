"""Shared helpers: synthetic crowds with known truth and the shared real datasets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from consensus import AnswerMatrix

DATASETS = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"


def simulate(
    seed: int,
    n_tasks: int = 300,
    n_workers: int = 30,
    n_labels: int = 3,
    overlap: int = 7,
    good: float = 0.85,
) -> tuple[AnswerMatrix, np.ndarray]:
    """A crowd with known truth: workers right with prob ~ U(good-0.15, good+0.1)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_tasks)
    skill = rng.uniform(good - 0.15, min(good + 0.1, 1.0), n_workers)
    tasks, workers, labels = [], [], []
    for t in range(n_tasks):
        for w in rng.choice(n_workers, overlap, replace=False):
            right = rng.random() < skill[w]
            lab = truth[t] if right else (truth[t] + rng.integers(1, n_labels)) % n_labels
            tasks.append(f"t{t}")
            workers.append(f"w{w}")
            labels.append(f"L{lab}")
    m = AnswerMatrix.from_triples(tasks, workers, labels)
    # truth re-expressed in m's codes
    label_code = {v: i for i, v in enumerate(m.label_ids.tolist())}
    task_pos = [int(t[1:]) for t in m.task_ids.tolist()]
    return m, np.array([label_code[f"L{truth[p]}"] for p in task_pos])


def load_dataset(name: str) -> tuple[AnswerMatrix, dict[str, str]]:
    folder = DATASETS / name
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets folder not found at {DATASETS}")
    with (folder / "answers.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    with (folder / "gold.csv").open(newline="") as f:
        gold = {r["task"]: r["label"] for r in csv.DictReader(f)}
    m = AnswerMatrix.from_triples(
        [r["task"] for r in rows], [r["worker"] for r in rows], [r["label"] for r in rows]
    )
    return m, gold


def gold_accuracy(m: AnswerMatrix, labels: np.ndarray, gold: dict[str, str]) -> float:
    decoded = m.decode_labels(labels)
    hits = [decoded[i] == gold[t] for i, t in enumerate(m.task_ids.tolist()) if t in gold]
    return float(np.mean(hits))


def spammer_crowd(seed: int, n_tasks: int) -> tuple[AnswerMatrix, np.ndarray]:
    """Three experts (90% right) and six uniform spammers answer every task, 3 labels; workers
    are named ``expert0..2`` and ``spammer3..8``."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_tasks)
    rows = []
    for t in range(n_tasks):
        for w in range(9):
            expert = w < 3
            lab = truth[t] if (expert and rng.random() < 0.9) else rng.integers(0, 3)
            rows.append((t, f"{'expert' if expert else 'spammer'}{w}", int(lab)))
    return AnswerMatrix.from_triples(*zip(*rows, strict=True)), truth
