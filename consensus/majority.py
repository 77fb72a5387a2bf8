"""Voting aggregators: plain and skill-weighted majority vote.

Ties are broken deterministically toward the label with more votes over the whole matrix (a
data-driven prior), then the lowest code — not toward whichever label id sorts first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from consensus.base import Aggregator, FloatArray, agreement_skills, argmax_ties, clamp_gold
from consensus.matrix import AnswerMatrix, IntArray


def vote_shares(m: AnswerMatrix, weights: FloatArray | None = None) -> FloatArray:
    """Share of (weighted) votes per label, ``(n_tasks, n_labels)``; uniform if all weights 0."""
    if weights is None:
        votes = m.vote_counts.copy()
    else:
        flat = m.task * m.n_labels + m.label
        size = m.n_tasks * m.n_labels
        votes = np.bincount(flat, weights=weights[m.worker], minlength=size).astype(np.float64)
        votes = votes.reshape(m.n_tasks, m.n_labels)
    total = votes.sum(axis=1, keepdims=True)
    empty = total[:, 0] <= 0
    votes[empty] = 1.0
    total[empty] = m.n_labels
    return np.asarray(votes / total, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class MajorityVote(Aggregator):
    """Majority vote: ``probas_[t, k]`` = share of task ``t``'s answers that say ``k``.

    ``skills_`` is each worker's Beta(1, 1)-smoothed agreement with the (gold-clamped) result.
    """

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        probas = clamp_gold(vote_shares(m), gold_t, gold_l)
        labels = argmax_ties(probas, m.vote_counts.sum(axis=0))
        hard = np.zeros_like(probas)
        hard[np.arange(m.n_tasks), labels] = 1.0
        self._set(probas_=probas, labels_=labels, skills_=agreement_skills(m, hard))


@dataclass(frozen=True, eq=False)
class WeightedMajorityVote(Aggregator):
    """Skill-weighted majority vote (Wawa-style, iterated to a fixed point).

    Model: start from majority vote; each worker's skill is their Beta(1, 1)-smoothed rate of
    agreement with the current labels; re-vote with votes weighted by skill; repeat until the
    labels stop changing or ``n_iter`` rounds. Gold tasks are clamped, so gold answers calibrate
    skills. ``skills_``: ``(n_workers,)`` agreement rates.
    """

    n_iter: int = 10

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        preference = m.vote_counts.sum(axis=0)
        probas = clamp_gold(vote_shares(m), gold_t, gold_l)
        labels = argmax_ties(probas, preference)
        skills = np.full(m.n_workers, 0.5)
        for _ in range(max(self.n_iter, 1)):
            hard = np.zeros_like(probas)
            hard[np.arange(m.n_tasks), labels] = 1.0
            skills = agreement_skills(m, hard)
            probas = clamp_gold(vote_shares(m, skills), gold_t, gold_l)
            new_labels = argmax_ties(probas, preference)
            converged = np.array_equal(new_labels, labels)
            labels = new_labels
            if converged:
                break
        self._set(probas_=probas, labels_=labels, skills_=skills)
