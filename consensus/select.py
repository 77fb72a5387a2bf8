"""Choose the answer model per matrix by cross-validated answer likelihood (no gold).

Two models compete, each a published, differently structured account of how workers answer:

* :class:`~consensus.AutoLogLinearDawidSkene` — every worker has one confusion matrix (softmax
  rows with a pooled Gaussian prior on their logits, strength ``λ`` walked by the same held-out
  score), all items of a true class are alike;
* :class:`~consensus.MinimaxEntropy` — a worker confusion ``σ`` *plus* a per-item confusion
  ``τ`` (D. Zhou, Q. Liu, J. C. Platt, C. Meek and N. B. Shah, ICML 2014): some items are
  misread the same way by everybody. Run with the values published with the paper's code
  (``worker_reg`` ¼, item terms regularised by the ratio of answers per worker to answers per
  item, ``task_reg`` 1), not with values tuned on labelled data.

The score is the one :mod:`consensus.auto` already uses to pick ``λ``: on the same seeded folds
(five below 200k answers, one above), fit on the kept answers and take
``log Σ_k post[t, k] · p(l | t, w, k)`` of each hidden answer ``(t, w, l)`` — for minimax
entropy ``p(· | t, w, k) = softmax(σ[w, k] + τ[t, k])`` with the item's ``τ`` fitted on its
other answers. It is the log predictive probability of answers neither model saw, a proper
scoring rule. The two models score the *same* hidden answers, so their difference is paired:
minimax entropy is chosen only if its total is higher by more than ``margin_se`` (1) standard
error of the summed difference (``√n · sd`` of the ``n`` per-answer differences) — the
one-standard-error rule of cross-validation (L. Breiman, J. Friedman, R. Olshen and C. Stone,
*Classification and Regression Trees*, 1984; T. Hastie, R. Tibshirani and J. Friedman, *The
Elements of Statistical Learning*, §7.10): the item terms add ``n_items · L²`` parameters, so
the simpler model stands unless the richer one is clearly better. The winner is refitted on
all answers. With too few answers to hide (see :func:`~consensus.auto.cv_splits`) the
log-linear model is used.

On the shared datasets minimax entropy wins on ``bluebirds`` only (39 answers per item: ahead
by 112 nats, 6 standard errors) and loses everywhere else by 3–35 standard errors. The margin
rule was added after a check on sub-campaigns of the shared datasets (half the tasks, 3, 5 or
10 answers each): on one 54-task sample of ``bluebirds`` minimax entropy was ahead by 2.3 nats
with a standard error of 6.4, and picking it cost 14 points; the rule changes no pick on the
six full datasets.

Why a choice and not one model: the item terms cost ``n_items · L²`` parameters. Where items
have many answers (``bluebirds``: 39 per item) they are well determined and predict held-out
answers far better (by ~110 nats there); where items have few answers the worker model alone
predicts better, and the pooled prior lets sparse workers borrow the crowd's confusion, which
minimax entropy's prior (shrinking every worker toward uniform answers) cannot. Held-out
answer likelihood is not accuracy: with per-item terms *added to* the pooled model, ``dog``'s
likelihood improves by 150 nats while its accuracy drops 0.8 points, so that third candidate is
not offered; ``benchmarks/consensus.py`` counts this structural choice (made with the shared
datasets' gold in view) in its leave-one-dataset-out estimate.

Cost: the log-linear search and refit, plus one minimax-entropy fit per fold (one fold above
200k answers), plus a minimax-entropy refit when it wins. The fold fits stop at a looser
tolerance (``select_tol``: no posterior moves by more than 0.01, vs 0.001 for the final fit),
as the log-linear fold fits do: on the six shared datasets that moves minimax entropy's total
by at most 12 nats (``trec``), against leads of 33 nats and more either way, and halves the
iterations (on the benchmark's 1M-answer set the fold fit takes 11 iterations instead of 18).
Measured on that set (2 shared cores): ~13 s cold (the log-linear search and refit ~4 s, the
minimax-entropy fold fit most of the rest), ~1 s warm-started on a matrix grown by 11% (the
choice is reused, so the minimax fold fit runs again only when a campaign doubles).

With gold: when ``fit(m, gold=...)`` has gold for at least ``min_gold`` (20) answered tasks,
the likelihood pick then competes with :class:`~consensus.DawidSkene`,
:class:`~consensus.OneCoinDawidSkene`, :class:`~consensus.MACE` and
:class:`~consensus.MajorityVote` on cross-validated accuracy on that gold, and is replaced only
by a lead of more than ``gold_margin_se`` (1) standard error (:mod:`consensus.gold_choice`).
Held-out likelihood is not accuracy, and on low-agreement crowds it prefers the richer model
where one coin per worker labels better; the campaign's own gold measures accuracy directly.
Below ``min_gold`` (or with ``gold_select=False``) the fit is exactly the gold-free choice with
the gold clamped. Cost with gold: one fit of each candidate per scored gold part (five parts;
on big matrices only enough parts for 500 scored gold tasks), plus a refit if the choice
changes: on the 1M-answer set with 10% gold (``benchmarks/consensus.py --gold-share 0.1``,
median of 3 runs) 14.1 s cold against 9.9 s with the gold only clamped.

Warm start: ``fit(m, init=previous)`` with a fitted :class:`AutoSelect` keeps the previous
choice (by gold or not; and the log-linear model's ``λ``) and warm-starts that model, until the
matrix has grown to ``reselect_growth`` (2) times the answers the choice was made on; then the
choice is made again. ``init`` of another aggregator is passed to the model it fits.

Learned state: ``probas_``, ``labels_``, ``skills_``, ``errors_`` ``(n_workers, L, L)`` (the
chosen model's worker confusions, ``[w, true, observed]``; for majority vote the workers'
expected confusions against its posteriors), ``priors_``, ``model_`` (the fitted chosen model),
``chosen_`` (its class name), ``likelihood_choice_`` (the gold-free pick; ``chosen_`` unless gold
changed it), ``scores_`` (held-out log-likelihood per candidate name, summed over the folds;
empty when the choice was reused or not made), ``se_`` (standard error of the paired
difference; NaN when no choice was made), ``gold_scores_`` (cross-validated accuracy on gold per
candidate; empty when no choice by gold was made), ``gold_se_`` (standard error of the best
candidate's lead in gold tasks; NaN without), ``gold_scored_`` (gold tasks scored),
``selected_on_``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from consensus.auto import AutoLogLinearDawidSkene, cv_splits
from consensus.base import Aggregator, FloatArray, fit_encoded, posterior_confusions
from consensus.dawid_skene import DawidSkene, OneCoinDawidSkene
from consensus.gold_choice import (
    choose_by_gold,
    gold_cv_correct,
    gold_parts,
    paired_standard_error,
)
from consensus.mace import MACE
from consensus.majority import MajorityVote
from consensus.matrix import AnswerMatrix, IntArray
from consensus.minimax import MinimaxEntropy

LOGLINEAR = "AutoLogLinearDawidSkene"
MINIMAX = "MinimaxEntropy"
# the other candidates of the choice by gold (consensus.gold_choice), after the likelihood pick
GOLD_CANDIDATES: dict[str, type[Aggregator]] = {
    "DawidSkene": DawidSkene, "OneCoinDawidSkene": OneCoinDawidSkene, "MACE": MACE,
    "MajorityVote": MajorityVote,
}


def minimax_answer_log_likelihoods(m: AnswerMatrix, hidden: IntArray,
                                   fitted: MinimaxEntropy) -> FloatArray:
    """``log Σ_k probas_[t, k] · softmax(σ[w, k] + τ[t, k])[l]`` per hidden answer ``(t, w, l)``."""
    t, w, lab = m.task[hidden], m.worker[hidden], m.label[hidden]
    score = fitted.worker_params_[w] + fitted.task_params_[t]  # (h, K, L)
    score -= score.max(axis=2, keepdims=True)
    answer = np.exp(score[np.arange(hidden.size), :, lab]) / np.exp(score).sum(axis=2)
    p = np.einsum("ak,ak->a", fitted.probas_[t], answer)
    return np.asarray(np.log(np.maximum(p, 1e-300)), dtype=np.float64)


def minimax_heldout_log_likelihood(m: AnswerMatrix, hidden: IntArray,
                                   fitted: MinimaxEntropy) -> float:
    """``Σ log Σ_k probas_[t, k] · softmax(σ[w, k] + τ[t, k])[l]`` over hidden ``(t, w, l)``."""
    return float(minimax_answer_log_likelihoods(m, hidden, fitted).sum())


class _LearnedState(Aggregator):
    """Learned attributes (set by ``fit``, not dataclass fields)."""

    errors_: FloatArray
    priors_: FloatArray
    model_: Aggregator
    chosen_: str
    likelihood_choice_: str
    scores_: dict[str, float]
    se_: float
    gold_scores_: dict[str, float]
    gold_se_: float
    gold_scored_: int
    selected_on_: int


@dataclass(frozen=True, eq=False)
class AutoSelect(_LearnedState):
    """Pooled log-linear Dawid–Skene or minimax entropy, whichever predicts held-out answers
    better on this matrix; with enough gold, the model that labels the campaign's own held-out
    gold best (see :mod:`consensus.gold_choice`). See the module docstring."""

    holdout: float = 0.2
    seed: int = 0
    folds: int = 5
    all_folds_max: int = 200_000
    reselect_growth: float = 2.0
    minimax_worker_reg: float = 0.25
    minimax_task_reg: float = 1.0
    margin_se: float = 1.0
    select_tol: float = 1e-2
    gold_select: bool = True
    min_gold: int = 20
    gold_margin_se: float = 1.0

    def _loglinear(self) -> AutoLogLinearDawidSkene:
        return AutoLogLinearDawidSkene(holdout=self.holdout, seed=self.seed, folds=self.folds,
                                       all_folds_max=self.all_folds_max,
                                       reselect_growth=self.reselect_growth)

    def _minimax(self, tol: float = 1e-3) -> MinimaxEntropy:
        return MinimaxEntropy(worker_reg=self.minimax_worker_reg,
                              task_reg=self.minimax_task_reg, tol=tol)

    def _make(self, name: str) -> Aggregator:
        if name == LOGLINEAR:
            return self._loglinear()
        return self._minimax() if name == MINIMAX else GOLD_CANDIDATES[name]()

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        previous = init if isinstance(init, AutoSelect) and hasattr(init, "chosen_") else None
        inner = previous.model_ if previous is not None else init
        scores: dict[str, float] = {}
        gold_scores: dict[str, float] = {}
        se = gold_se = math.nan
        scored = 0
        if previous is not None and m.n_answers < self.reselect_growth * previous.selected_on_:
            chosen, selected_on = previous.chosen_, previous.selected_on_
            by_likelihood = previous.likelihood_choice_
            model = self._make(chosen)
            fit_encoded(model, m, gold_t, gold_l, inner if _same(model, inner) else None)
        else:
            selected_on = m.n_answers
            loglinear = self._loglinear()
            # a previous Dawid–Skene-family fit warm-starts it (λ is re-chosen: the matrix has
            # doubled)
            fit_encoded(loglinear, m, gold_t, gold_l, inner if _ds_family(inner) else None)
            model, chosen = loglinear, LOGLINEAR
            if loglinear.scores_:
                base = loglinear.heldout_
                diff = self._minimax_scores(m, gold_t, gold_l) - base
                scores[LOGLINEAR] = float(base.sum())
                scores[MINIMAX] = scores[LOGLINEAR] + float(diff.sum())
                se = paired_standard_error(diff)
                if diff.sum() > self.margin_se * se:
                    chosen = MINIMAX  # fitted below, once the gold has had its say
            by_likelihood = chosen
            if self.gold_select and gold_t.size >= self.min_gold and m.n_labels >= 2:
                parts = gold_parts(gold_t.size, self.seed, self.folds, m.n_answers,
                                   self.all_folds_max)
                by_task = np.argsort(gold_t, kind="stable")  # folds not by the mapping's order
                correct = {name: gold_cv_correct(make, m, gold_t[by_task], gold_l[by_task],
                                                 parts, _fit_gold)
                           for name, make in self._gold_candidates(m, loglinear, chosen).items()}
                chosen, gold_se = choose_by_gold(correct, by_likelihood, self.gold_margin_se)
                gold_scores = {name: float(c.mean()) for name, c in correct.items()}
                scored = int(correct[by_likelihood].size)
            if chosen != LOGLINEAR or by_likelihood != LOGLINEAR:  # else `loglinear` is it
                model = self._make(chosen)
                fit_encoded(model, m, gold_t, gold_l, inner if _same(model, inner) else None)
        errors, priors = _confusions(m, model)
        self._set(probas_=model.probas_, labels_=model.labels_, skills_=model.skills_,
                  errors_=errors, priors_=priors, model_=model, chosen_=chosen,
                  likelihood_choice_=by_likelihood, scores_=scores, se_=se,
                  gold_scores_=gold_scores, gold_se_=gold_se, gold_scored_=scored,
                  selected_on_=selected_on)

    def _gold_candidates(self, m: AnswerMatrix, loglinear: AutoLogLinearDawidSkene,
                         picked: str) -> dict[str, Callable[[], Aggregator]]:
        """Fresh-model factories, the likelihood pick first (the log-linear model at the
        hyperparameters it chose on the whole matrix: the fold fits must not search again)."""
        if picked != LOGLINEAR:
            return {MINIMAX: self._minimax, **GOLD_CANDIDATES}
        lam, diag, tol = loglinear.lam_, loglinear.diag_, loglinear.tol

        def fresh() -> Aggregator:
            return loglinear._model(m.n_labels, lam, diag, tol)

        return {LOGLINEAR: fresh, **GOLD_CANDIDATES}

    def _minimax_scores(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray
                        ) -> FloatArray:
        """Minimax entropy's log-likelihood of each hidden answer, folds in order (the order of
        the log-linear model's ``heldout_``)."""
        parts = []
        for sub, hidden in cv_splits(m, self.holdout, self.seed, self.folds, self.all_folds_max):
            fitted = self._minimax(self.select_tol)
            fit_encoded(fitted, sub, gold_t, gold_l, None)
            parts.append(minimax_answer_log_likelihoods(m, hidden, fitted))
        return np.concatenate(parts)


def _same(model: Aggregator, inner: Any) -> bool:
    return isinstance(inner, type(model))


def _ds_family(inner: Any) -> bool:
    """Whether ``inner`` can warm-start a Dawid–Skene-family model (confusions and priors)."""
    return (inner is not None and not isinstance(inner, MinimaxEntropy)
            and hasattr(inner, "errors_") and hasattr(inner, "priors_"))


def _confusions(m: AnswerMatrix, model: Aggregator) -> tuple[FloatArray, FloatArray]:
    """The chosen model's ``(errors_[w, true, observed], priors_)``; for a model without them
    (majority vote) each worker's expected confusion against its posteriors."""
    if hasattr(model, "errors_") and hasattr(model, "priors_"):
        return model.errors_, model.priors_
    return posterior_confusions(m, model.probas_)


def _fit_gold(model: Aggregator, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray) -> None:
    fit_encoded(model, m, gold_t, gold_l, None)
