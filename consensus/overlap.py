"""Dynamic overlap: ask for another answer only where the consensus is not yet sure.

A fixed overlap spends the same number of answers on easy and hard items. The rule here stops
collecting as soon as an item's posterior reaches ``target_confidence`` (and never exceeds
``max_overlap`` answers), so easy items cost few answers and the budget goes to contested ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def needs_more_answers(
    probas: NDArray[Any],
    counts: NDArray[Any],
    target_confidence: float,
    max_overlap: int,
    *,
    min_overlap: int = 0,
) -> NDArray[np.bool_]:
    """Which items should get another answer, shape ``(n_tasks,)``.

    ``probas``: ``(n_tasks, n_labels)`` posteriors (e.g. ``agg.probas_``); ``counts``:
    ``(n_tasks,)`` answers so far (e.g. ``m.counts``). An item needs more when it has fewer than
    ``min_overlap`` answers, or when its top posterior is below ``target_confidence`` and it has
    fewer than ``max_overlap`` answers.
    """
    p = np.asarray(probas, dtype=np.float64)
    c = np.asarray(counts)
    if p.ndim != 2 or c.shape != (p.shape[0],):
        raise ValueError(f"probas must be (n_tasks, n_labels) and counts (n_tasks,): "
                         f"got {p.shape} and {c.shape}")
    if not 0.0 < target_confidence <= 1.0:
        raise ValueError(f"target_confidence must be in (0, 1], got {target_confidence}")
    if max_overlap < 0 or min_overlap < 0:
        raise ValueError("max_overlap and min_overlap must be >= 0")
    confident = p.max(axis=1) >= target_confidence if p.shape[1] else np.ones(len(c), bool)
    return np.asarray((c < min_overlap) | (~confident & (c < max_overlap)))
