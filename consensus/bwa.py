"""Bayesian weighted average (BWA): precision-weighted voting with a Gamma prior on precision.

Paper: Y. Li, B. I. P. Rubinstein and T. Cohn, "Truth Inference at Scale: A Bayesian Model for
Adjudicating Highly Redundant Crowd Annotations", WWW 2019.

Model, per label ``k`` on its own (one-vs-rest): an answer is the indicator ``y = [label == k]``,
read as the task's true share ``z_tk`` plus Gaussian noise whose precision ``v_wk`` belongs to
the worker. ``v_wk`` has a Gamma(``a_v``, ``b_k``) prior; ``z_tk`` a Gaussian prior centred on
the label's mean share with ``lam`` pseudo-answers of weight. Mean-field updates alternate

* ``v_wk = (a_v + n_w) / (b_k + Σ_answers (z_tk − y)²)`` — a worker is trusted by how close
  their answers sit to the current estimate, shrunk to the prior by ``a_v`` pseudo-answers;
* ``z_tk = (lam · mean_k + Σ v_wk · y) / (lam + Σ v_wk)`` — a precision-weighted vote,

until ``z`` stops moving. ``b_k`` is fixed from majority vote: ``a_v`` pseudo-answers with the
average squared residual of the vote shares, scaled by ``4 (1 − 1/L)`` (the paper's
correction: what a share residual would be if labels were uniform).

Why it is here: the estimate is an *average* of weighted votes, not a product of per-worker
likelihoods, so one confidently wrong confusion model cannot swing an item, and sparse
workers keep the prior's weight. On a simulated crowd of 1,500 workers with 2–3 answers each
(``tests/unit/consensus/test_bwa.py``) it stays above majority vote where :class:`DawidSkene`
falls 8–12 points below it. On real data alone it is uneven (``benchmarks/consensus.py``: +8.4
points against crowd-kit's DawidSkene on ZenCrowd US, −13 on bluebirds).

Learned state: ``probas_`` (the ``z`` rows normalised), ``labels_``, ``skills_`` (each
worker's Beta(1, 1)-smoothed expected agreement with ``probas_``), ``precisions_``
``(n_workers, n_labels)``, ``n_iter_``. Gold rows are clamped every pass, so gold answers set
precisions. Warm start: ``init`` (a fitted :class:`BayesianWeightedAverage`) seeds ``z`` from
its precisions by worker id; unknown workers start at the prior mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from consensus.base import (
    Aggregator,
    FloatArray,
    agreement_skills,
    argmax_ties,
    clamp_gold,
    map_ids,
)
from consensus.majority import vote_shares
from consensus.matrix import AnswerMatrix, IntArray


class _LearnedState(Aggregator):
    """Learned attributes (set by ``fit``, not dataclass fields)."""

    precisions_: FloatArray
    n_iter_: int


@dataclass(frozen=True, eq=False)
class BayesianWeightedAverage(_LearnedState):
    """Per-label precision-weighted average of one-hot answers; see the module docstring.

    * ``a_v`` — pseudo-answers in each worker's precision prior (the paper's 15);
    * ``lam`` — pseudo-answers of weight at each label's mean share in every task's estimate;
    * ``n_iter`` / ``tol`` — stop after ``n_iter`` passes or when no share moves by more than
      ``tol``.
    """

    a_v: float = 15.0
    lam: float = 1.0
    n_iter: int = 500
    tol: float = 1e-5

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        n_labels = m.n_labels
        if m.n_answers == 0 or n_labels == 0:
            z = vote_shares(m) if n_labels else np.zeros((m.n_tasks, 0))
            self._finish(m, clamp_gold(z, gold_t, gold_l), np.zeros((m.n_workers, n_labels)), 0)
            return
        onehot = np.zeros((m.n_answers, n_labels))
        onehot[np.arange(m.n_answers), m.label] = 1.0
        answers = np.bincount(m.worker, minlength=m.n_workers).astype(np.float64)[:, None]
        shares = clamp_gold(vote_shares(m), gold_t, gold_l)
        scale = 4.0 * (1.0 - 1.0 / n_labels) if n_labels > 1 else 1.0
        # a_v pseudo-answers whose squared residual is the vote shares' average one
        b = self.a_v * scale * np.mean(shares[m.task] * (1.0 - shares[m.task]), axis=0)
        b = np.maximum(b, 1e-12)
        z = shares if init is None else self._warm(m, init, onehot, shares, gold_t, gold_l)
        precision = np.zeros((m.n_workers, n_labels))
        passes = 0
        while passes < max(self.n_iter, 1):
            passes += 1
            precision = self._precisions(m, z, onehot, answers, b)
            new = self._shares(m, z.mean(axis=0), precision, onehot)
            clamp_gold(new, gold_t, gold_l)
            moved = float(np.max(np.abs(new - z))) if z.size else 0.0
            z = new
            if moved <= self.tol:
                break
        self._finish(m, z, precision, passes)

    def _precisions(self, m: AnswerMatrix, z: FloatArray, onehot: FloatArray,
                    answers: FloatArray, b: FloatArray) -> FloatArray:
        sq = (z[m.task] - onehot) ** 2
        residual = np.stack([np.bincount(m.worker, weights=sq[:, k], minlength=m.n_workers)
                             for k in range(m.n_labels)], axis=1)
        return np.asarray((self.a_v + answers) / (b[None, :] + residual), dtype=np.float64)

    def _shares(self, m: AnswerMatrix, mean: FloatArray, precision: FloatArray,
                onehot: FloatArray) -> FloatArray:
        weight = precision[m.worker]  # (answers, labels)
        num = np.stack([np.bincount(m.task, weights=weight[:, k] * onehot[:, k],
                                    minlength=m.n_tasks) for k in range(m.n_labels)], axis=1)
        den = np.stack([np.bincount(m.task, weights=weight[:, k], minlength=m.n_tasks)
                        for k in range(m.n_labels)], axis=1)
        return np.asarray((self.lam * mean[None, :] + num) / (self.lam + den), dtype=np.float64)

    def _warm(self, m: AnswerMatrix, init: Any, onehot: FloatArray, shares: FloatArray,
              gold_t: IntArray, gold_l: IntArray) -> FloatArray:
        if not isinstance(init, BayesianWeightedAverage) or not hasattr(init, "precisions_"):
            raise ValueError("init must be a fitted BayesianWeightedAverage")
        w_map = map_ids(m.worker_ids, init.worker_ids_)
        l_map = map_ids(m.label_ids, init.label_ids_)
        old = init.precisions_
        known_mean = old.mean(axis=0) if len(old) else np.ones(old.shape[1])
        rows = np.where(w_map[:, None] >= 0, old[np.maximum(w_map, 0)], known_mean[None, :])
        precision = np.ones((m.n_workers, m.n_labels))
        cols = np.flatnonzero(l_map >= 0)
        precision[:, cols] = rows[:, l_map[cols]]
        z = self._shares(m, shares.mean(axis=0), precision, onehot)
        return clamp_gold(z, gold_t, gold_l)

    def _finish(self, m: AnswerMatrix, z: FloatArray, precision: FloatArray, passes: int) -> None:
        total = z.sum(axis=1, keepdims=True)
        uniform = np.full_like(z, 1.0 / max(m.n_labels, 1))
        probas = np.where(total > 0, z / np.where(total > 0, total, 1.0), uniform)
        labels = argmax_ties(probas, m.vote_counts.sum(axis=0))
        self._set(probas_=probas, labels_=labels, skills_=agreement_skills(m, probas),
                  precisions_=precision, n_iter_=passes)
