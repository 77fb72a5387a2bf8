"""Log-linear Dawid–Skene: confusion rows as softmaxes of Gaussian-regularised logits.

Model: each task ``t`` has a hidden true label ``z_t`` with a **uniform** prior (by default);
worker ``w`` answers ``l`` with probability ``softmax(σ[w, z_t, :])[l]``, independently of other
workers. The logits have a Gaussian prior ``σ[w, k, :] ~ N(μ·e_k, I/λ)``: with little data a
worker's row shrinks toward a mild "right more often than wrong" confusion, and with much data it
follows the counts. This is the worker half of minimax conditional entropy (D. Zhou, Q. Liu, J. C.
Platt, C. Meek and N. B. Shah, "Aggregating Ordinal Labels from Crowds by Minimax Conditional
Entropy", ICML 2014 — :class:`~consensus.MinimaxEntropy` with ``task_reg=inf``) plus the diagonal
prior mean, fitted by EM in the vectorised Dawid–Skene machinery (A. P. Dawid and A. M. Skene,
Applied Statistics 28(1), 1979) with an exact MAP M-step.

Why not Dirichlet smoothing: an additive pseudo-count makes a never-seen confusion cell nearly
impossible once a worker has many answers, so one stray answer of a good worker outweighs several
weak workers; a Gaussian on logits bounds how sure a row can get (``|σ| ≲ n/λ``). With a fitted
class prior instead of the uniform one, a majority grade absorbs its neighbours on graded scales
(``web``: 0.889 → 0.840 in the benchmark).

M-step per (worker, true class) row, from the expected counts ``C[w, k, l]`` (``n = Σ_l C``):
maximise ``C·σ − n·logsumexp(σ) − λ/2·‖σ − μ·e_k‖²`` — strictly concave; Newton's method with the
Hessian ``n(diag p − ppᵀ) + λI`` inverted by Sherman–Morrison (elementwise, no ``L×L`` solves),
warm-started from the previous M-step, until no logit moves by more than ``1e-8``.

Hyperparameters (the defaults below were picked by gold accuracy on the six shared datasets, so
their accuracy there is optimistic for new data; :class:`~consensus.AutoLogLinearDawidSkene`, the
default aggregator, chooses ``λ`` and ``μ`` per matrix from the answers instead):

* ``reg`` — ``λ = reg · L²`` (the scaling of the minimax-entropy paper's code), ``0.125``;
* ``diag`` — ``μ``, prior mean of the diagonal logits, ``0.25`` (``0`` is the paper's
  shrinkage to uniform answers, which loses 1–4 points at 3 answers per task);
* ``prior_shrink`` — class prior ``(fitted + c · uniform) / (1 + c)``; ``inf`` (uniform, the
  default) as in the paper: on ``web`` ``c = 0`` costs 5 points and ``c = 1`` 0.6;
* ``n_iter`` / ``tol`` / ``init_with`` / ``accelerate`` — as in :class:`~consensus.DawidSkene`.

Learned state after ``fit(m)`` (as in :class:`~consensus.DawidSkene`): ``probas_``
``(n_tasks, L)``, ``labels_`` ``(n_tasks,)``, ``errors_`` ``(n_workers, L, L)`` =
``[w, true, observed]``, ``priors_`` ``(L,)`` (uniform by default, so near-ties go to the
lowest label code), ``skills_`` ``(n_workers,)`` expected accuracy ``Σ_k priors_[k] ·
errors_[w, k, k]``, ``n_iter_``, ``log_likelihood_``. Warm start as in
:class:`~consensus.DawidSkene` (``init=`` any fitted Dawid–Skene-family aggregator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from consensus.base import FloatArray
from consensus.dawid_skene import _EMAggregator
from consensus.em import MStep, Post, Sweeper, class_log_prior, expected_counts
from consensus.matrix import AnswerMatrix

NEWTON_MAX = 50
NEWTON_TOL = 1e-8
MAX_STEP = 4.0  # logits; e⁴ ≈ 55× change of a probability ratio per Newton step


def _softmax(logits: FloatArray) -> FloatArray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(z / z.sum(axis=-1, keepdims=True), dtype=np.float64)


def map_logits(counts: FloatArray, lam: float, mean: FloatArray, start: FloatArray) -> FloatArray:
    """MAP logits of softmax rows with a Gaussian prior, by Newton's method.

    ``counts`` ``(R, L)`` observed counts per row, ``mean`` ``(R, L)`` prior means, ``start``
    ``(R, L)`` initial logits; maximises ``Σ_r C_r·σ_r − n_r·logsumexp(σ_r) −
    λ/2·‖σ_r − mean_r‖²``. The Hessian ``−(n(diag p − ppᵀ) + λI)`` is inverted with
    Sherman–Morrison: ``A = D − n ppᵀ``, ``D = diag(n p + λ)``.
    """
    n = counts.sum(axis=-1, keepdims=True)
    sigma = start.copy()
    for _ in range(NEWTON_MAX):
        p = _softmax(sigma)
        grad = counts - n * p - lam * (sigma - mean)
        d = n * p + lam
        dg, dp = grad / d, p / d
        denom = 1.0 - (n * p * dp).sum(axis=-1, keepdims=True)  # > λ/(n+λ) > 0
        step = dg + dp * (n * (p * dg).sum(axis=-1, keepdims=True) / denom)
        # a full Newton step can overshoot far from the optimum: cap each row's largest move
        # (the scaled step is still an ascent direction of the concave objective)
        size = np.abs(step).max(axis=-1, keepdims=True)
        step *= np.minimum(1.0, MAX_STEP / np.maximum(size, 1e-300))
        sigma += step
        if not np.abs(step).max(initial=0.0) > NEWTON_TOL:
            break
    return sigma


@dataclass(frozen=True, eq=False)
class LogLinearDawidSkene(_EMAggregator):
    """Dawid–Skene with softmax confusion rows, a Gaussian prior on their logits centred on a
    mild diagonal, and a uniform class prior. See the module docstring for the model, the
    M-step and the array shapes."""

    n_iter: int = 200
    tol: float = 1e-6
    init_with: str = "mv"
    accelerate: bool = False
    reg: float = 0.125
    diag: float = 0.25
    prior_shrink: float = math.inf

    def _m_step(self, m: AnswerMatrix, sweep: Sweeper) -> MStep:
        n_l, n_w = m.n_labels, m.n_workers
        lam = self.reg * n_l * n_l
        mean = np.broadcast_to(self.diag * np.eye(n_l), (n_w, n_l, n_l))
        uniform = np.full(n_l, -np.log(max(n_l, 1)))
        state = {"sigma": np.array(mean)}  # [w, true, observed], warm start between M-steps

        def step(post: Post) -> tuple[FloatArray, FloatArray]:
            counts = expected_counts(m, post, sweep).transpose(0, 2, 1)  # [w, true, obs]
            sigma = map_logits(counts, lam, mean, state["sigma"])
            state["sigma"] = sigma
            log_conf = sigma - sigma.max(axis=2, keepdims=True)
            log_conf -= np.log(np.exp(log_conf).sum(axis=2, keepdims=True))
            log_prior = self._log_prior(post, uniform)
            return np.ascontiguousarray(log_conf.transpose(0, 2, 1)), log_prior  # [w, obs, true]

        return step

    def _log_prior(self, post: Post, uniform: FloatArray) -> FloatArray:
        """``(fitted + c · uniform) / (1 + c)`` for ``c = prior_shrink``: a Dirichlet prior of
        ``c · n_tasks / L`` pseudo-tasks per class (``c = inf``: uniform)."""
        if math.isinf(self.prior_shrink):
            return uniform
        return class_log_prior(post, self.prior_shrink * post.shape[1] / max(post.shape[0], 1))
