"""Worker quality with uncertainty, for reward multipliers and spammer exclusion.

Model: worker ``w``'s accuracy ``θ_w`` has a ``Beta(a, b)`` prior; each answer is correct with
the posterior probability of its label under the fitted aggregator, so after ``n_w`` answers of
which ``c_w = Σ probas[task, label]`` are *expected* correct, ``θ_w | data ~ Beta(a + c_w,
b + n_w − c_w)``. We report its mean and an equal-tailed credible interval. Few answers give a
wide interval, so pay rules can use the lower bound ("pay for what we are sure of") and spam
filters the upper bound ("exclude only the confidently bad").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from consensus.base import FloatArray
from consensus.matrix import AnswerMatrix, IntArray

_GRID = 801  # points per worker for the numeric Beta quantiles (error ≪ 1e-3)


@dataclass(frozen=True)
class WorkerQuality:
    """Per-worker accuracy posterior; every array has shape ``(n_workers,)`` in
    ``worker_ids`` order."""

    worker_ids: NDArray[Any]
    n_answers: IntArray
    expected_correct: FloatArray
    mean: FloatArray
    lower: FloatArray
    upper: FloatArray
    level: float

    def confidently_below(self, threshold: float) -> NDArray[np.bool_]:
        """Workers whose whole interval lies below ``threshold`` (e.g. chance, ``1 / L``)."""
        return np.asarray(self.upper < threshold)

    def as_dict(self) -> dict[Any, tuple[float, float, float]]:
        """``{worker_id: (mean, lower, upper)}`` with plain Python values."""
        rows = zip(self.mean.tolist(), self.lower.tolist(), self.upper.tolist(), strict=True)
        return dict(zip(self.worker_ids.tolist(), rows, strict=True))


def beta_quantiles(a: FloatArray, b: FloatArray, qs: tuple[float, ...]) -> FloatArray:
    """Quantiles of ``Beta(a, b)`` (``a, b ≥ 1``) per row, shape ``(len(a), len(qs))``.

    Pure numpy: the CDF is integrated on a grid spanning mean ± 12 sd (clipped to [0, 1]), so
    peaked posteriors of prolific workers stay as precise as flat ones.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.empty((a.size, len(qs)))
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    for s in range(0, a.size, 2048):  # chunks bound memory to ~2048 × _GRID floats
        sl = slice(s, s + 2048)
        lo = np.clip(mean[sl] - 12 * sd[sl], 0.0, 1.0)[:, None]
        hi = np.clip(mean[sl] + 12 * sd[sl], 0.0, 1.0)[:, None]
        x = lo + (hi - lo) * np.linspace(0.0, 1.0, _GRID)[None]
        xc = np.clip(x, 1e-12, 1 - 1e-12)
        logpdf = (a[sl, None] - 1) * np.log(xc) + (b[sl, None] - 1) * np.log1p(-xc)
        pdf = np.exp(logpdf - logpdf.max(axis=1, keepdims=True))
        cdf = np.concatenate(
            [np.zeros((pdf.shape[0], 1)), np.cumsum((pdf[:, 1:] + pdf[:, :-1]) / 2, axis=1)],
            axis=1,
        )
        cdf /= np.maximum(cdf[:, -1:], 1e-300)
        for j, q in enumerate(qs):
            # first grid index whose CDF reaches q, then linear interpolation inside the cell
            k = np.clip((cdf < q).sum(axis=1), 1, _GRID - 1)
            rows = np.arange(cdf.shape[0])
            c0, c1 = cdf[rows, k - 1], cdf[rows, k]
            frac = np.where(c1 > c0, (q - c0) / np.maximum(c1 - c0, 1e-300), 0.0)
            out[sl, j] = x[rows, k - 1] + frac * (x[rows, k] - x[rows, k - 1])
    return out


def worker_quality(
    m: AnswerMatrix,
    probas: FloatArray,
    *,
    prior: tuple[float, float] = (1.0, 1.0),
    level: float = 0.9,
) -> WorkerQuality:
    """Beta posterior of each worker's accuracy against ``probas`` (``(n_tasks, n_labels)``,
    e.g. ``agg.probas_``). ``prior = (a, b)`` with ``a, b ≥ 1``; ``level`` is the credible mass
    of the interval ``[lower, upper]``."""
    probas = np.asarray(probas, dtype=np.float64)
    if probas.shape != (m.n_tasks, m.n_labels):
        raise ValueError(f"probas must have shape {(m.n_tasks, m.n_labels)}, got {probas.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a0, b0 = prior
    if a0 < 1.0 or b0 < 1.0:
        raise ValueError(f"prior parameters must be >= 1, got {prior}")
    n = np.bincount(m.worker, minlength=m.n_workers).astype(np.int64)
    correct = np.bincount(m.worker, weights=probas[m.task, m.label], minlength=m.n_workers)
    a = np.asarray(a0 + correct, dtype=np.float64)
    b = np.asarray(b0 + np.maximum(n - correct, 0.0), dtype=np.float64)
    tail = (1.0 - level) / 2.0
    q = beta_quantiles(a, b, (tail, 1.0 - tail))
    return WorkerQuality(
        worker_ids=m.worker_ids,
        n_answers=n,
        expected_correct=np.asarray(correct, dtype=np.float64),
        mean=a / (a + b),
        lower=q[:, 0],
        upper=q[:, 1],
        level=level,
    )
