"""Vectorised, accelerated EM shared by the Dawid–Skene family.

Layout. Posteriors are kept **class-major** inside EM: ``post`` has shape ``(n_labels,
n_tasks)`` and dtype float32, so every big pass is a contiguous gather plus an
``np.add.reduceat``:

* E-step: log-confusion rows are one ``(L, n_workers * L)`` table indexed by the precomputed
  flat code ``worker * L + label`` of each answer, summed per task over the task-sorted answers;
* M-step: posteriors are gathered per answer in (worker, label)-grouped order (one sort per
  matrix) and summed per group, giving the expected counts ``C[w, l, k]`` in one pass.

float32 halves the memory traffic; sums of ≤ 1e5 terms keep ~1e-7 relative precision, far below
the EM tolerance, and the posteriors reported to callers come from a final float64 E-step.

Acceleration. :func:`run_em` runs SQUAREM (Varadhan & Roland, "Simple and Globally Convergent
Methods for Accelerating the Convergence of Any EM Algorithm", Scand. J. Stat. 35(2), 2008;
scheme S3) on the parameters ``θ = (log_conf, log_prior)``: two plain EM steps
``θ1 = F(θ0)``, ``θ2 = F(θ1)`` give ``r = θ1 − θ0`` and ``v = θ2 − 2θ1 + θ0``; the extrapolated
point ``θ0 − 2αr + α²v`` with ``α = −‖r‖/‖v‖`` (capped at ``−1``, which is ``θ2`` itself) is
renormalised onto the simplex in log space and **kept only if its log-likelihood is at least
that of** ``θ2`` (monotone safeguard); otherwise EM continues from ``θ2``. Convergence is tested
on plain EM steps only, so acceleration never changes what "converged" means.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from consensus.base import FloatArray
from consensus.matrix import AnswerMatrix, IntArray

Post = NDArray[np.float32]  # (n_labels, n_tasks) class-major posteriors
Params = tuple[FloatArray, FloatArray]  # (log_conf[w, obs, true], log_prior[k])
MStep = Callable[[Post], Params]
T = TypeVar("T")


PARALLEL_MIN_ANSWERS = 200_000  # below this, one chunk: thread hand-off costs more than it saves
N_CHUNKS = 2  # fixed, not os.cpu_count(): results must not depend on the machine


@dataclass(frozen=True)
class Chunk:
    """A task-aligned slice of the task-sorted answers (E-step) and a slice of the (worker,
    label) groups of the same matrix (M-step)."""

    tasks: slice
    key: IntArray  # (answers in chunk,) flat code worker * L + label
    starts: IntArray  # (tasks in chunk,) first answer of each task, relative to the chunk
    group_task: IntArray  # task of each answer of the chunk's groups, in grouped order
    group_keys: IntArray  # (groups in chunk,) their flat codes
    group_starts: IntArray  # (groups in chunk,) first offsets, relative to the chunk


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n, parts + 1).astype(np.int64).tolist()
    return list(pairwise(edges))


def _offsets(starts: IntArray, total: int, lo: int, hi: int) -> tuple[int, int]:
    return (int(starts[lo]) if lo < len(starts) else total,
            int(starts[hi]) if hi < len(starts) else total)


class Sweeper:
    """Runs the per-answer passes of EM over fixed chunks, on a small thread pool.

    ``np.take`` and ``np.add.reduceat`` release the GIL, so two chunks use the two cores of a
    small machine. The chunking depends only on the matrix (never on the number of CPUs) and
    partial results are combined in chunk order, so results are identical with or without
    threads. Use as a context manager (the pool is shut down on exit).
    """

    def __init__(self, m: AnswerMatrix, threads: bool = True) -> None:
        n = N_CHUNKS if m.n_answers >= PARALLEL_MIN_ANSWERS and m.n_tasks >= N_CHUNKS else 1
        order, gkeys, gstarts = m.worker_label_groups
        gtask = m.task[order]
        key, starts = m.worker_label_key, m.task_starts
        self.chunks: list[Chunk] = []
        for (lo, hi), (glo, ghi) in zip(_bounds(m.n_tasks, n), _bounds(len(gkeys), n),
                                        strict=True):
            a0, a1 = _offsets(starts, m.n_answers, lo, hi)
            g0, g1 = _offsets(gstarts, m.n_answers, glo, ghi)
            self.chunks.append(Chunk(slice(lo, hi), key[a0:a1], starts[lo:hi] - a0,
                                     gtask[g0:g1], gkeys[glo:ghi], gstarts[glo:ghi] - g0))
        workers = min(n, os.cpu_count() or 1) if threads else 1
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def map(self, fn: Callable[[Chunk], T]) -> list[T]:
        if self._pool is None:
            return [fn(c) for c in self.chunks]
        return list(self._pool.map(fn, self.chunks))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self) -> Sweeper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def to_post(probas: FloatArray) -> Post:
    """Row-major ``(n_tasks, L)`` probabilities → class-major float32 ``(L, n_tasks)``."""
    return np.ascontiguousarray(probas.T, dtype=np.float32)


def expected_counts(m: AnswerMatrix, post: Post, sweep: Sweeper) -> FloatArray:
    """``C[w, l, k]`` = expected number of answers ``l`` by worker ``w`` on tasks of true class
    ``k`` under ``post``; shape ``(n_workers, n_labels, n_labels)`` (a strided view).

    Answers are pre-grouped by the flat code ``worker * L + label`` (one sort per matrix); each
    M-step is one class-major gather of the posteriors plus one ``np.add.reduceat``.
    """
    n_labels = m.n_labels
    out = np.zeros((n_labels, m.n_workers * n_labels))

    def part(c: Chunk) -> None:
        if c.group_keys.size:
            gathered = np.take(post, c.group_task, axis=1)
            out[:, c.group_keys] = np.add.reduceat(gathered, c.group_starts, axis=1)

    sweep.map(part)  # chunks own disjoint keys: no reduction needed
    return out.reshape(n_labels, m.n_workers, n_labels).transpose(1, 2, 0)


def e_step(
    m: AnswerMatrix,
    params: Params,
    gold_t: IntArray,
    gold_l: IntArray,
    sweep: Sweeper,
    dtype: type[np.floating[Any]] = np.float32,
) -> tuple[NDArray[Any], float]:
    """Class-major posterior over true labels per task and the data log-likelihood.

    ``log p(k | answers of t) ∝ log prior[k] + Σ_answers log conf[w, l, k]`` (Dawid & Skene 1979,
    conditional independence of workers given the true label). Gold columns are clamped; the
    log-likelihood is ``Σ_t log Σ_k prior[k] Π conf`` over all tasks (gold ones included, at
    their unclamped value, so it is comparable across iterations).
    """
    log_conf, log_prior = params
    n_labels = m.n_labels
    post = np.empty((n_labels, m.n_tasks), dtype=dtype)
    if m.n_tasks == 0:
        return post, 0.0
    table = np.ascontiguousarray(log_conf.reshape(-1, n_labels).T, dtype=dtype)
    shift = log_prior.astype(dtype)[:, None]

    def part(c: Chunk) -> float:
        if not c.key.size:
            return 0.0
        lj = np.add.reduceat(np.take(table, c.key, axis=1), c.starts, axis=1)
        lj += shift
        top = lj.max(axis=0)
        lj -= top
        np.exp(lj, out=lj)
        total = lj.sum(axis=0)
        np.divide(lj, total, out=post[:, c.tasks])
        return float(np.log(total).sum(dtype=np.float64) + top.sum(dtype=np.float64))

    ll = float(sum(sweep.map(part)))
    if gold_t.size:
        post[:, gold_t] = 0.0
        post[gold_l, gold_t] = 1.0
    return post, ll


def _log_normalize(params: Params) -> Params:
    """Project log-parameters back onto the simplex (conf over ``obs`` = axis 1, prior)."""
    log_conf, log_prior = params
    top = log_conf.max(axis=1, keepdims=True)
    log_conf = log_conf - (top + np.log(np.exp(log_conf - top).sum(axis=1, keepdims=True)))
    top_p = log_prior.max(initial=0.0)
    log_prior = log_prior - (top_p + np.log(np.exp(log_prior - top_p).sum()))
    return log_conf, log_prior


def _extrapolate(p0: Params, p1: Params, p2: Params) -> Params | None:
    """SQUAREM S3 step from three successive EM iterates; ``None`` if it would be ``p2``."""
    r = [a1 - a0 for a0, a1 in zip(p0, p1, strict=True)]
    v = [a2 - 2.0 * a1 + a0 for a0, a1, a2 in zip(p0, p1, p2, strict=True)]
    r2 = sum(float(np.vdot(x, x)) for x in r)
    v2 = sum(float(np.vdot(x, x)) for x in v)
    if not (v2 > 0.0 and np.isfinite(r2) and np.isfinite(v2)):
        return None
    alpha = -np.sqrt(r2 / v2)
    if alpha > -1.0:  # α = −1 reproduces p2
        return None
    step = [a0 - 2.0 * alpha * rr + alpha * alpha * vv for a0, rr, vv in zip(p0, r, v, strict=True)]
    return _log_normalize((step[0], step[1]))


@dataclass
class EMResult:
    post: Post  # (L, n_tasks) float32 posteriors from the last E-step
    params: Params
    n_iter: int  # E-steps run (each one full pass over the answers)
    log_likelihood: float


def run_em(
    m: AnswerMatrix,
    post: Post | None,
    m_step: MStep,
    gold_t: IntArray,
    gold_l: IntArray,
    n_iter: int,
    tol: float,
    sweep: Sweeper,
    start: Params | None = None,
    accelerate: bool = True,
) -> EMResult:
    """EM to convergence: stop when one plain EM step changes the data log-likelihood by at
    most ``tol`` relative (``|ΔLL| ≤ tol · |LL|``), or after ``n_iter`` E-steps.

    ``m_step(post) -> (log_conf, log_prior)``. With ``start`` (warm start) the first M-step is
    skipped and EM begins with an E-step from the given parameters. ``accelerate`` turns on the
    SQUAREM extrapolation described in the module docstring.
    """
    budget = max(n_iter, 1)
    if start is not None:
        params = start
    elif post is not None:
        params = m_step(post)
    else:
        raise ValueError("run_em needs initial posteriors or start parameters")
    post, ll = e_step(m, params, gold_t, gold_l, sweep)
    done = 1
    while done < budget:
        trail = [params]
        # two plain EM steps, each one a convergence check
        for _ in range(2):
            params = m_step(post)
            new_post, new_ll = e_step(m, params, gold_t, gold_l, sweep)
            done += 1
            converged = abs(new_ll - ll) <= tol * abs(ll)
            post, ll = new_post, new_ll
            trail.append(params)
            if converged or done >= budget:
                return EMResult(post, params, done, ll)
        jump = _extrapolate(*trail) if accelerate else None
        if jump is None or done >= budget:
            continue
        jump_post, jump_ll = e_step(m, jump, gold_t, gold_l, sweep)
        done += 1
        if jump_ll >= ll:  # monotone safeguard: keep the jump only if it is no worse
            params, post, ll = jump, jump_post, jump_ll
    return EMResult(post, params, done, ll)


def class_log_prior(post: Post, alpha: float = 1.0) -> FloatArray:
    """MAP class prior under a symmetric Dirichlet(1 + alpha): ``(n_labels,)`` log-probas."""
    totals = post.sum(axis=1, dtype=np.float64) + alpha
    return np.asarray(np.log(totals / max(totals.sum(), 1e-300)), dtype=np.float64)


def safe_log(x: FloatArray) -> FloatArray:
    """log with zeros mapped to a large negative number instead of -inf (keeps sums finite)."""
    return np.log(np.maximum(x, 1e-300))
