"""Inter-annotator agreement: Fleiss' kappa and Krippendorff's alpha.

Both take an :class:`AnswerMatrix` or a votes table ``(n_tasks, n_labels)`` of answer counts.
Items with fewer than two answers carry no agreement information and are skipped. When the
data show no variation at all (one label used), chance agreement is 1 and both coefficients
are undefined: they return ``nan``.

Papers: J. L. Fleiss, "Measuring nominal scale agreement among many raters", Psychological
Bulletin 76(5), 1971; K. Krippendorff, "Computing Krippendorff's Alpha-Reliability", 2011
(coincidence-matrix form, which handles any number of answers per item).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from consensus.base import FloatArray
from consensus.matrix import AnswerMatrix


def _votes(data: AnswerMatrix | NDArray[Any]) -> FloatArray:
    votes = data.vote_counts if isinstance(data, AnswerMatrix) else np.asarray(data, float)
    if votes.ndim != 2 or (votes < 0).any():
        raise ValueError("expected an AnswerMatrix or a non-negative (n_tasks, n_labels) table")
    return votes[votes.sum(axis=1) >= 2]


def fleiss_kappa(data: AnswerMatrix | NDArray[Any]) -> float:
    """Fleiss' kappa (nominal), generalised to a varying number of answers per item."""
    votes = _votes(data)
    if votes.shape[0] == 0:
        return float("nan")
    n = votes.sum(axis=1)
    observed = float(((votes * (votes - 1)).sum(axis=1) / (n * (n - 1))).mean())
    share = votes.sum(axis=0) / n.sum()
    chance = float((share**2).sum())
    if chance >= 1.0:
        return float("nan")
    return (observed - chance) / (1.0 - chance)


def _distance(totals: FloatArray, level: str) -> FloatArray:
    """Squared distance δ²[c, k] between label codes (codes are in ``label_ids`` order)."""
    n_labels = totals.size
    codes = np.arange(n_labels, dtype=np.float64)
    if level == "nominal":
        return 1.0 - np.eye(n_labels)
    if level == "interval":
        return (codes[:, None] - codes[None, :]) ** 2
    if level == "ordinal":
        # δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k) / 2)²: ranks weighted by how often used
        cum = np.concatenate(([0.0], np.cumsum(totals)))
        lo = np.minimum(codes[:, None], codes[None, :]).astype(int)
        hi = np.maximum(codes[:, None], codes[None, :]).astype(int)
        between = cum[hi + 1] - cum[lo]
        return (between - (totals[:, None] + totals[None, :]) / 2.0) ** 2
    raise ValueError(f"level must be 'nominal', 'ordinal' or 'interval', got {level!r}")


def krippendorff_alpha(
    data: AnswerMatrix | NDArray[Any],
    level: Literal["nominal", "ordinal", "interval"] = "nominal",
) -> float:
    """Krippendorff's alpha. ``ordinal``/``interval`` read labels in ``label_ids`` order (pass
    ``label_ids=`` to :meth:`AnswerMatrix.from_triples` to fix the scale, e.g. grades 1..5)."""
    votes = _votes(data)
    if votes.shape[0] == 0:
        return float("nan")
    pairs = votes.sum(axis=1) - 1.0
    # coincidences o[c, k] = Σ_items n_c n_k / (m − 1), excluding an answer paired with itself
    coincidence = (votes / pairs[:, None]).T @ votes
    coincidence -= np.diag((votes / pairs[:, None]).sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = _distance(totals, level)
    expected = float((np.outer(totals, totals) * delta).sum() / (n - 1.0))
    if expected <= 0.0:
        return float("nan")
    return 1.0 - float((coincidence * delta).sum()) / expected
