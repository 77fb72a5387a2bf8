"""Minimax conditional entropy: worker *and* item confusions in one log-linear model.

Papers: D. Zhou, J. C. Platt, S. Basu and Y. Mao, "Learning from the Wisdom of Crowds by Minimax
Entropy", NIPS 2012; D. Zhou, Q. Liu, J. C. Platt, C. Meek and N. B. Shah, "Aggregating Ordinal
Labels from Crowds by Minimax Conditional Entropy", ICML 2014 (categorical form, section 3).

Model. Worker ``j`` answers label ``l`` on item ``i`` whose true label is ``k`` with probability

    p(l | i, j, k) = exp(σ[j, k, l] + τ[i, k, l]) / Σ_l' exp(σ[j, k, l'] + τ[i, k, l'])

— the maximum-entropy distribution matching per-worker and per-item confusion counts, whose
Lagrange multipliers are the worker confusion ``σ`` and the item confusion ``τ`` (how *this* item
gets misread, e.g. a borderline relevance grade read one step up by everybody). Relaxing the
moment constraints with quadratic slack penalties gives Gaussian (L2) penalties
``λ_w/2 ‖σ_j‖²`` and ``λ_t/2 ‖τ_i‖²``, which pull every confusion toward "no information"
(uniform answers) and make sparse workers and items harmless. The true labels get a uniform prior,
as in the paper: a fitted class prior lets a majority grade swallow its neighbours on graded
scales (it costs 12 points on ``web``).

Fitting (block-coordinate ascent, all blocks vectorised over the answers):

* E-step: ``q[i, k] ∝ Π_j p(x_ij | i, j, k)`` (gold rows clamped);
* M-step: one majorise-minimise Newton step for all ``σ`` at once, then one for all ``τ``:
  ``θ += (g − λθ) / (h + λ)`` with ``g`` the gradient of the q-weighted log-likelihood and
  ``h = Σ q·p`` — a diagonal upper bound of the curvature of the softmax (``diag(p) − ppᵀ ≼
  diag(p)``), so each step increases the penalised objective near the current point;
* stop when no posterior moves by more than ``tol``, or after ``n_iter`` iterations.

Hyperparameters (fixed for all data):

* ``worker_reg`` — ``λ_w = worker_reg · L²``; 0.25 is the value published with the paper's code;
* ``task_reg`` — ``λ_t = task_reg · λ_w · (answers per worker / answers per item)`` (the paper's
  code uses ratio 1: items, seen by few workers, are regularised as much more as they have fewer
  answers). ``2.0`` was chosen by leave-one-dataset-out over {0.5, 1, 2, 4, ∞} × worker_reg
  {⅛, ¼, ½, 1} on the six shared datasets (5 of 6 folds pick ``(¼, 2)``); ``math.inf`` drops the
  item terms and gives a regularised log-linear Dawid–Skene.

Array shapes after ``fit(m)``: ``probas_`` ``(n_tasks, L)``, ``labels_`` ``(n_tasks,)``,
``worker_params_`` ``(n_workers, L, L)`` = ``σ[j, true, observed]``, ``task_params_``
``(n_tasks, L, L)`` = ``τ``, ``errors_`` ``(n_workers, L, L)`` = each worker's confusion on an
average item (``softmax(σ_j)`` per true-label row), ``priors_`` ``(L,)`` = mean posterior,
``skills_`` ``(n_workers,)`` = ``Σ_k priors_[k] · errors_[j, k, k]``, ``n_iter_``.

Warm start: ``fit(m, init=previous)`` with a fitted :class:`MinimaxEntropy` reuses ``σ`` and ``τ``
by worker / task / label id (unknown ones start at 0) and begins with an E-step.

Cost: each iteration makes two passes over ``n_answers × L²`` float64 values (trec, 88k answers,
42 iterations: ~3 s; the 1M-answer benchmark set, 14 iterations: ~41 s and several hundred MB),
so :class:`~consensus.DawidSkene` stays the default and the fast path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from consensus.base import Aggregator, FloatArray, argmax_ties, clamp_gold
from consensus.majority import vote_shares
from consensus.matrix import AnswerMatrix, IntArray


def _map_ids(new: Any, old: Any) -> IntArray:
    """Position of each id of ``new`` in ``old`` (``-1`` if absent)."""
    index = {v: i for i, v in enumerate(np.asarray(old).tolist())}
    return np.array([index.get(v, -1) for v in np.asarray(new).tolist()], dtype=np.int64)


def _carry(
    params: FloatArray, new_to_old: IntArray, lab: IntArray, shape: tuple[int, ...]
) -> FloatArray:
    """Parameters re-indexed to a new matrix: rows by ``new_to_old``, label axes by ``lab``."""
    out = np.zeros(shape)
    rows = np.flatnonzero(new_to_old >= 0)
    labs = np.flatnonzero(lab >= 0)
    if rows.size and labs.size:
        out[np.ix_(rows, labs, labs)] = params[np.ix_(new_to_old[rows], lab[labs], lab[labs])]
    return out


@dataclass(frozen=True, eq=False)
class MinimaxEntropy(Aggregator):
    """Minimax conditional entropy (Zhou et al. 2012/2014): worker confusion ``σ`` plus item
    confusion ``τ`` in a log-linear answer model, L2-regularised, uniform class prior. See the
    module docstring for the model, the fitting steps and the array shapes."""

    worker_reg: float = 0.25
    task_reg: float = 2.0
    n_iter: int = 100
    tol: float = 1e-3

    def _fit(self, m: AnswerMatrix, gold_t: IntArray, gold_l: IntArray, init: Any) -> None:
        n_l, n_t, n_w, n_a = m.n_labels, m.n_tasks, m.n_workers, m.n_answers
        ll = n_l * n_l
        lam_w = self.worker_reg * n_l * n_l
        items = math.isfinite(self.task_reg) and n_a > 0
        lam_t = self.task_reg * lam_w * (n_t / max(n_w, 1)) if items else math.inf
        sigma = np.zeros((n_w, n_l, n_l))
        tau = np.zeros((n_t, n_l, n_l))
        if init is not None:
            sigma, tau = self._warm(m, init)
        t, w, lab = m.task, m.worker, m.label
        starts = m.task_starts
        votes = m.vote_counts  # (T, L)
        # (worker, observed) answer groups: expected counts C[w, l, k] by one bincount per class
        wl = w * n_l + lab

        def log_lik(sig: FloatArray, ta: FloatArray) -> tuple[FloatArray, FloatArray]:
            """(per-answer log p(x | k) (A, K), per-answer p(l | k) (A, K, L))."""
            score = sig.reshape(n_w, ll)[w]
            if items:
                score += ta.reshape(n_t, ll)[t]
            score = score.reshape(n_a, n_l, n_l)
            score -= score.max(axis=2, keepdims=True)
            p = np.exp(score)
            z = p.sum(axis=2, keepdims=True)
            p /= z
            logp = score[np.arange(n_a), :, lab] - np.log(z[:, :, 0])
            return logp, p

        def e_step(logp: FloatArray) -> FloatArray:
            if n_a == 0:
                return np.full((n_t, n_l), 1.0 / max(n_l, 1))
            lj = np.add.reduceat(logp, starts, axis=0)
            lj -= lj.max(axis=1, keepdims=True)
            q = np.exp(lj)
            q /= q.sum(axis=1, keepdims=True)
            return clamp_gold(q, gold_t, gold_l)

        if init is not None:
            q = e_step(log_lik(sigma, tau)[0])
        else:
            q = clamp_gold(vote_shares(m), gold_t, gold_l)
        done = 0
        for done in range(1, max(self.n_iter, 1) + 1):  # noqa: B007 (read after the loop)
            # σ step: gradient = C[w, k, l] − Σ_a q[t_a, k] p[a, k, l]
            _, p = log_lik(sigma, tau)
            qa = q[t]  # (A, K)
            weighted = p * qa[:, :, None]  # (A, K, L)
            h = np.stack([np.bincount(w, weights=weighted.reshape(n_a, ll)[:, c], minlength=n_w)
                          for c in range(ll)], axis=1).reshape(n_w, n_l, n_l)
            c_wlk = np.stack([np.bincount(wl, weights=qa[:, k], minlength=n_w * n_l)
                              for k in range(n_l)], axis=1).reshape(n_w, n_l, n_l)
            grad = c_wlk.transpose(0, 2, 1) - h
            sigma += (grad - lam_w * sigma) / (h + lam_w)
            if items:
                # τ step: gradient = q[i, k] · votes[i, l] − Σ_{a in i} q[i, k] p[a, k, l]
                _, p = log_lik(sigma, tau)
                p *= qa[:, :, None]
                h_t = np.add.reduceat(p, starts, axis=0)
                grad_t = q[:, :, None] * votes[:, None, :] - h_t
                tau += (grad_t - lam_t * tau) / (h_t + lam_t)
            new_q = e_step(log_lik(sigma, tau)[0])
            moved = float(np.abs(new_q - q).max(initial=0.0))
            q = new_q
            if moved <= self.tol:
                break
        errors = np.exp(sigma - sigma.max(axis=2, keepdims=True))
        errors /= np.maximum(errors.sum(axis=2, keepdims=True), 1e-300)
        priors = q.mean(axis=0) if n_t else np.full(n_l, 1.0 / max(n_l, 1))
        skills = np.einsum("k,wkk->w", priors, errors) if n_w else np.zeros(0)
        self._set(probas_=q, labels_=argmax_ties(q, priors), errors_=errors, priors_=priors,
                  skills_=skills, worker_params_=sigma, task_params_=tau, task_ids_=m.task_ids,
                  n_iter_=done)

    @staticmethod
    def _warm(m: AnswerMatrix, init: Any) -> tuple[FloatArray, FloatArray]:
        need = ("worker_params_", "task_params_", "worker_ids_", "task_ids_", "label_ids_")
        if not all(hasattr(init, a) for a in need):
            raise ValueError("init must be a fitted MinimaxEntropy")
        lab = _map_ids(m.label_ids, init.label_ids_)
        shape = (m.n_labels, m.n_labels)
        sigma = _carry(init.worker_params_, _map_ids(m.worker_ids, init.worker_ids_), lab,
                       (m.n_workers, *shape))
        tau = _carry(init.task_params_, _map_ids(m.task_ids, init.task_ids_), lab,
                     (m.n_tasks, *shape))
        return sigma, tau
