"""Log-linear Dawid–Skene that chooses its own prior strength from the answers (no gold).

:class:`~consensus.LogLinearDawidSkene` has two prior hyperparameters: the precision ``λ`` of the
Gaussian prior on each worker's confusion logits and its diagonal mean ``μ``. Fixed values
chosen by accuracy on labelled datasets carry an optimistic bias to data nobody has seen (on the
six shared datasets a leave-one-dataset-out pick of fixed values scores ~0.5 point below the
in-sample pick). :class:`AutoLogLinearDawidSkene` instead picks ``(λ, μ)`` **per matrix**, by how
well the model predicts answers it was not fitted on:

1. **Split** (seeded): every answer is hidden with probability ``holdout`` (0.2), except one
   answer per task (the one with the largest random draw), so every task keeps a posterior.
2. **Score** a candidate ``(λ, μ)``: fit on the kept answers, then sum over hidden answers
   ``(t, w, l)`` of ``log Σ_k post[t, k] · conf[w, k, l]`` — the posterior of the task from its
   *other* answers times the worker's fitted confusion row (a worker whose answers are all
   hidden is scored with the prior-mean row, so the prior itself is tested too). This is the
   log predictive probability of unseen answers: a proper scoring rule that needs no truth.
3. **Search** a coordinate walk on a fixed ladder, each fit warm-started from the previous one:
   ``λ`` on ``LAMBDAS`` = 2^-3 … 2^3 starting at 1, stepping ×2 or ÷2 while the score improves;
   then ``μ`` on ``DIAGS`` = (0, 0.5, 1) starting at 0.5, the same way.
4. **Refit** on all answers with the chosen ``(λ, μ)``, warm-started from the chosen fold fit.

Why these (fixed a priori, not by accuracy on labelled data):

* ``λ`` is the precision of a logit, so ``1/√λ`` is its prior standard deviation: the ladder
  spans 0.35 nats (a worker's row barely moves from the prior) to 2.8 nats (close to maximum
  likelihood); its middle, 1 nat, is the usual weakly-informative scale. Powers of two because
  the held-out score is smooth in ``log λ``; the walk stops at the first non-improving step (the
  score is unimodal in ``log λ`` in practice; a tie keeps the earlier point).
* ``μ`` is the prior log-odds of a right answer over one given wrong one for a worker nothing
  is known about: 0 (no belief in competence), 0.5, 1 (right ``e/(e+L−1)`` of the time: 73%
  with two labels). Larger values assume more of unknown workers than crowds warrant.
* ``holdout`` 0.2 — one fold of a 5-fold split: enough hidden answers to rank neighbours on
  small sets (hundreds of answers), enough kept that the fold's fit resembles the full one. One
  fold, not five, so the search costs a few fits rather than many.
* the fold fits stop at a looser relative tolerance (``select_tol`` 1e-4, vs 1e-6 for the final
  fit): the score needs the ranking of candidates, not the last digit of each (on the 1M set
  the held-out scores of neighbours differ by ~10³ nats; 1e-4 moves them by ~10² and keeps
  their order), and it halves the search time.

Cost: the walk fits 4–7 candidates, each warm-started from its neighbour (a few E-steps), on
80% of the answers, plus one warm-started refit: about 3–4 plain fits in all (see
``benchmarks/consensus.py``: the 1M-answer set).

Warm start: ``fit(m, init=previous)`` with a fitted :class:`AutoLogLinearDawidSkene` **reuses**
``previous``'s ``(λ, μ)`` and starts EM from its parameters, with no search — unless the matrix
has grown to ``reselect_growth`` (2) times the answers the choice was made on, when the search
runs again (warm-started too). Growth by doubling keeps the amortised cost of re-selection
below one extra search per campaign, and a choice made on a campaign's first few hundred answers
does not fix the prior for a million. ``init`` of another Dawid–Skene-family aggregator only
warm-starts the parameters (the search runs).

Small inputs: with fewer than ``MIN_HIDDEN`` answers to hide (or fewer than two labels) the
search is skipped and the ladder's starting point ``(λ, μ) = (1, 0.5)`` is used.

Learned state: as :class:`~consensus.LogLinearDawidSkene` (``probas_``, ``labels_``,
``errors_``, ``priors_``, ``skills_``, ``n_iter_``, ``log_likelihood_``), plus ``lam_`` and
``diag_`` (the chosen ``λ``, ``μ``), ``reg_`` = ``λ / L²`` (the same in
:class:`~consensus.LogLinearDawidSkene`'s ``reg`` units), ``scores_`` (held-out log-likelihood
per tried ``(λ, μ)``, empty when reused) and ``selected_on_`` (answers in the matrix the choice
was made on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from consensus.base import Aggregator, FloatArray
from consensus.loglinear import LogLinearDawidSkene
from consensus.matrix import AnswerMatrix, IntArray

LAMBDAS = tuple(2.0**k for k in range(-3, 4))  # 1/8 … 8, prior sd of a logit 2.8 … 0.35 nats
DIAGS = (0.0, 0.5, 1.0)
START = (3, 1)  # indices into LAMBDAS, DIAGS: λ = 1, μ = 0.5
MIN_HIDDEN = 20  # fewer hidden answers cannot rank neighbours: use the starting point


def holdout_split(m: AnswerMatrix, fraction: float, seed: int) -> tuple[AnswerMatrix, IntArray]:
    """(matrix of the kept answers, indices of the hidden ones) for a seeded random split.

    Each answer is hidden with probability ``fraction`` except the one with the largest draw in
    its task, so the kept matrix has the same tasks (and the same id tables) as ``m``.
    """
    draw = np.random.default_rng(seed).random(m.n_answers)
    hide = draw < fraction
    if m.n_answers:
        # the answer with the largest draw of each task stays: the one least likely to be
        # hidden anyway, so the hidden share stays ≈ ``fraction`` (answers are grouped by task;
        # a per-task maximum is one reduceat, no sort)
        largest = np.maximum.reduceat(draw, m.task_starts)
        hide &= draw < largest[m.task]
    kept = ~hide
    sub = AnswerMatrix(m.task[kept], m.worker[kept], m.label[kept], m.task_ids, m.worker_ids,
                       m.label_ids)  # a subsequence of (task, worker)-sorted answers stays sorted
    return sub, np.flatnonzero(hide).astype(np.int64)


def heldout_log_likelihood(m: AnswerMatrix, hidden: IntArray,
                           fitted: LogLinearDawidSkene) -> float:
    """``Σ log Σ_k probas_[t, k] · errors_[w, k, l]`` over the hidden answers ``(t, w, l)``."""
    probas: FloatArray = fitted.probas_
    errors: FloatArray = fitted.errors_  # [w, true, observed]
    t, w, lab = m.task[hidden], m.worker[hidden], m.label[hidden]
    p = np.einsum("ak,ak->a", probas[t], errors[w, :, lab])
    return float(np.log(np.maximum(p, 1e-300)).sum())


class _LearnedState(Aggregator):
    """Learned attributes (not dataclass fields: they are set by ``fit``)."""

    errors_: FloatArray
    priors_: FloatArray
    n_iter_: int
    log_likelihood_: float
    lam_: float
    diag_: float
    reg_: float
    scores_: dict[tuple[float, float], float]
    selected_on_: int


@dataclass(frozen=True, eq=False)
class AutoLogLinearDawidSkene(_LearnedState):
    """:class:`~consensus.LogLinearDawidSkene` with ``(λ, μ)`` chosen per matrix by held-out
    answer log-likelihood (no gold). See the module docstring for the procedure and its fixed
    choices."""

    holdout: float = 0.2
    seed: int = 0
    select_tol: float = 1e-4
    reselect_growth: float = 2.0
    n_iter: int = 200
    tol: float = 1e-6
    prior_shrink: float = math.inf

    def _model(self, n_labels: int, lam: float, diag: float, tol: float) -> LogLinearDawidSkene:
        return LogLinearDawidSkene(n_iter=self.n_iter, tol=tol, reg=lam / max(n_labels, 1) ** 2,
                                   diag=diag, prior_shrink=self.prior_shrink)

    def _fit_one(self, model: LogLinearDawidSkene, m: AnswerMatrix, gold_t: IntArray,
                 gold_l: IntArray, init: Any) -> LogLinearDawidSkene:
        model._set(worker_ids_=m.worker_ids, label_ids_=m.label_ids)
        model._fit(m, gold_t, gold_l, init)
        return model

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        if not 0.0 < self.holdout < 1.0:
            raise ValueError(f"holdout must be in (0, 1), got {self.holdout!r}")
        reuse = (init is not None and getattr(init, "selected_on_", 0) > 0
                 and m.n_answers < self.reselect_growth * init.selected_on_)
        scores: dict[tuple[float, float], float] = {}
        if reuse:
            lam, diag, selected_on = float(init.lam_), float(init.diag_), int(init.selected_on_)
            start = init
        else:
            lam, diag, warm = self._search(m, gold_t, gold_l, init, scores)
            selected_on = m.n_answers
            start = warm if warm is not None else init
        final = self._fit_one(self._model(m.n_labels, lam, diag, self.tol), m, gold_t, gold_l,
                              start)
        self._set(probas_=final.probas_, labels_=final.labels_, errors_=final.errors_,
                  priors_=final.priors_, skills_=final.skills_, n_iter_=final.n_iter_,
                  log_likelihood_=final.log_likelihood_, lam_=lam, diag_=diag,
                  reg_=lam / max(m.n_labels, 1) ** 2, scores_=scores, selected_on_=selected_on)

    def _search(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any,
                scores: dict[tuple[float, float], float],
                ) -> tuple[float, float, LogLinearDawidSkene | None]:
        """Coordinate walk over ``LAMBDAS`` then ``DIAGS``; fills ``scores``; returns the pick
        and its fold fit (the final refit starts from it), or no fit when there is no search."""
        li, di = START
        if m.n_labels < 2:
            return LAMBDAS[li], DIAGS[di], None
        sub, hidden = holdout_split(m, self.holdout, self.seed)
        if hidden.size < MIN_HIDDEN:
            return LAMBDAS[li], DIAGS[di], None
        fits: dict[tuple[int, int], LogLinearDawidSkene] = {}
        last: list[Any] = [init]  # each candidate starts from the previously fitted one

        def score(i: int, j: int) -> float:
            key = (LAMBDAS[i], DIAGS[j])
            if key not in scores:
                model = self._model(m.n_labels, *key, self.select_tol)
                fits[(i, j)] = self._fit_one(model, sub, gold_t, gold_l, last[0])
                last[0] = fits[(i, j)]
                scores[key] = heldout_log_likelihood(m, hidden, fits[(i, j)])
            return scores[key]

        li = _walk(lambda i: score(i, di), li, len(LAMBDAS))
        di = _walk(lambda j: score(li, j), di, len(DIAGS))
        return LAMBDAS[li], DIAGS[di], fits[(li, di)]


def _walk(score: Any, start: int, n: int) -> int:
    """Index of a local maximum of ``score`` on ``0..n-1`` reached from ``start`` by unit steps:
    try the step up, then (if it did not improve) the step down, and keep going that way while
    the score strictly improves. Ties keep the current point, so the result is deterministic."""
    best, best_score = start, score(start)
    for direction in (1, -1):
        moved = False
        while 0 <= best + direction < n:
            s = score(best + direction)
            if not s > best_score:
                break
            best, best_score, moved = best + direction, s, True
        if moved:
            break
    return best
