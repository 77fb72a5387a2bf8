"""Collusion detection: pairs of workers who agree far more than their accuracy explains, or
who answer the same items in lock-step. Pure numpy; no I/O (the scan in collusion_scan.py
reads the database and acts on the result).

Model. Two workers answering one item independently, with accuracies q_i and q_j over K
classes, agree when both are right (q_i q_j) or both are wrong in the same way
((1 - q_i)(1 - q_j) w). Under the textbook symmetric model w = 1/(K - 1). We use the class
distribution π of the answers instead: a wrong answer on an item of class c picks d ≠ c with
probability π_d / (1 - π_c), so w = Σ_c π_c Σ_{d≠c} (π_d / (1 - π_c))². By Cauchy-Schwarz this is
at least 1/(K - 1) (equal when π is uniform): honest workers' errors crowd onto popular classes,
and a larger expectation means fewer false alarms. The expected agreement is
e = q_i q_j + (1 - q_i)(1 - q_j) w.

Test. Of n shared items the pair agreed on a; under independence a ~ Binomial(n, e). A pair is
flagged for agreement when the one-sided tail P(X >= a) < p_value AND a/n - e > margin. The
margin absorbs what independence ignores for honest workers: items differ in difficulty (so
two good workers' correct answers are positively correlated) and hard items attract the same
wrong answer; both add a few points of agreement, never twenty.

Accuracy. The caller passes, per worker, the evidence of accuracy as (correct, answered) counts;
accuracy is then Beta(1 + correct, 1 + answered - correct). Prefer hidden gold: copiers cannot
copy their way out of it (gold looks like any other item, so they copy a mediocre leader's
mistakes there too), whereas a consensus-based quality is inflated by the very agreement we
test (copiers form their own majority). A worker with no evidence gets the uniform Beta(1, 1).
Accuracy is uncertain and fixed across the pair's items, so plugging in a point estimate would
accuse honest workers who were merely unlucky on a few gold questions. The p-value is therefore
averaged over both workers' posteriors (a G x G quantile grid): P = E_q[P(X >= a | n, e(q))].
It is small only when no plausible accuracy explains the agreement. The margin is measured
against e at the posterior means (e is linear in each q, so that is E[e]).

Lock-step. Accounts run by one person or one script answer the same items seconds apart. A pair
with >= min_common shared items, a median gap below `lockstep_seconds` and an agreement rate of
at least `lockstep_agreement` is flagged too, whatever its accuracy.

Limits. A group copying an excellent leader agrees little more than two excellent honest
workers do; only lock-step timing (or many shared items) exposes it. Its labels are then as
good as the leader's, which bounds the damage to the data (not to the budget).

Groups are the connected components of flagged pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
_GRID = 2000  # points of the accuracy grid the Beta quantiles are read from


@dataclass(frozen=True, slots=True)
class CollusionParams:
    p_value: float = 1e-6
    min_common: int = 8
    margin: float = 0.2  # a/n - e above this, besides the p-value
    lockstep_seconds: float = 3.0
    lockstep_agreement: float = 0.9
    nodes: int = 24  # quantile nodes per worker for the posterior average of the p-value


@dataclass(frozen=True, slots=True)
class PairEvidence:
    """One flagged pair (a < b, worker ids as given)."""

    a: int
    b: int
    shared: int
    agreed: int
    expected: float  # expected agreement rate under independence
    p_value: float  # P(X >= agreed | shared, expected)
    median_gap_s: float  # median |Δt| between their answers on the shared items
    reasons: tuple[str, ...]  # "agreement" and/or "lockstep"

    def as_json(self) -> dict[str, object]:
        return {
            "a": self.a, "b": self.b, "shared": self.shared, "agreed": self.agreed,
            "expected": round(self.expected, 4), "p_value": float(f"{self.p_value:.3g}"),
            "median_gap_s": round(self.median_gap_s, 1), "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class CollusionReport:
    pairs: list[PairEvidence]  # flagged pairs, most improbable first
    groups: list[list[int]]  # connected components of flagged pairs, sorted ids, largest first
    pairs_tested: int  # pairs with >= min_common shared items


@dataclass(frozen=True, slots=True)
class PairStats:
    """Every pair of workers that shared at least one item (index arrays into `workers`)."""

    workers: IntArray  # the distinct worker ids
    left: IntArray
    right: IntArray
    shared: IntArray
    agreed: IntArray
    median_gap: FloatArray


def beta_nodes(correct: ArrayLike, answered: ArrayLike, nodes: int = 24) -> FloatArray:
    """Quantiles at (g + 1/2)/nodes of Beta(1 + correct, 1 + answered - correct), one row each.

    Inverted from the CDF on a fine grid (numpy has no Beta quantile); equal-mass nodes make
    a plain mean over them an expectation over the posterior."""
    c = np.atleast_1d(np.asarray(correct, dtype=float))
    n = np.atleast_1d(np.asarray(answered, dtype=float))
    c = np.clip(c, 0.0, n)
    x = (np.arange(_GRID) + 0.5) / _GRID
    log_pdf = c[:, None] * np.log(x) + (n - c)[:, None] * np.log1p(-x)
    pdf = np.exp(log_pdf - log_pdf.max(axis=1, keepdims=True))
    cdf = np.cumsum(pdf, axis=1)
    cdf /= cdf[:, -1:]
    probs = (np.arange(nodes) + 0.5) / nodes
    rows = [np.interp(probs, cdf_row, x) for cdf_row in cdf]
    return np.array(rows).reshape(c.size, nodes)


def wrong_coincidence(label_counts: ArrayLike, n_classes: int) -> float:
    """w: the chance two independent wrong answers on one item coincide (see module doc)."""
    k = max(int(n_classes), 2)
    counts = np.zeros(k, dtype=float)
    given = np.asarray(label_counts, dtype=float)[:k]
    counts[: given.size] = given
    if counts.sum() <= 0:
        return 1.0 / (k - 1)
    pi = (counts + 0.5) / (counts.sum() + 0.5 * k)  # smoothed so no class is impossible
    w = 0.0
    for c in range(k):
        others = np.delete(pi, c) / (1.0 - pi[c])
        w += pi[c] * float(np.sum(others**2))
    return max(w, 1.0 / (k - 1))


def binom_tail(agreed: ArrayLike, n: ArrayLike, p: ArrayLike) -> FloatArray:
    """P(X >= agreed) for X ~ Binomial(n, p), elementwise, summed exactly in log space."""
    a = np.asarray(agreed, dtype=np.int64)
    nn = np.asarray(n, dtype=np.int64)
    pp = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0 - 1e-16)
    a, nn, pp = np.broadcast_arrays(a, nn, pp)
    a, nn, pp = a.ravel(), nn.ravel(), pp.ravel()
    out = np.ones(a.size)
    todo = np.flatnonzero(a > 0)
    if todo.size == 0:
        return out
    a, nn, pp = a[todo], nn[todo], pp[todo]
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, int(nn.max()) + 1)))])
    lengths = nn - a + 1  # the terms k = a..n of each tail
    seg = np.repeat(np.arange(a.size), lengths)
    starts = np.cumsum(lengths) - lengths
    k = a[seg] + np.arange(seg.size) - starts[seg]
    terms = (log_fact[nn[seg]] - log_fact[k] - log_fact[nn[seg] - k]
             + k * np.log(pp[seg]) + (nn[seg] - k) * np.log1p(-pp[seg]))
    peak = np.maximum.reduceat(terms, starts)
    total = np.add.reduceat(np.exp(terms - peak[seg]), starts)
    out[todo] = np.minimum(np.exp(peak + np.log(total)), 1.0)
    return out


def pair_stats(worker: ArrayLike, item: ArrayLike, label: ArrayLike, at: ArrayLike) -> PairStats:
    """Shared items, agreements and the median answer gap of every co-answering pair.

    Vectorized: answers are grouped by item and each item's answer pairs are enumerated with
    index arithmetic, so the work is Σ_items m² (m = answers on the item), never workers².
    A repeated (worker, item) keeps its first answer.
    """
    w_ids, w = np.unique(np.asarray(worker, dtype=np.int64), return_inverse=True)
    it = np.asarray(item, dtype=np.int64).ravel()
    lab = np.asarray(label).ravel()
    t = np.asarray(at, dtype=float).ravel()
    _, first = np.unique(w.astype(np.int64) * (int(it.max(initial=0)) + 1) + it,
                         return_index=True)
    first.sort()
    w, it, lab, t = w[first].astype(np.int64), it[first], lab[first], t[first]
    order = np.argsort(it, kind="stable")
    w, it, lab, t = w[order], it[order], lab[order], t[order]
    # Each answer pairs with the later answers of its item.
    ends = np.concatenate([np.flatnonzero(np.diff(it)) + 1, [it.size]])
    group_end = np.repeat(ends, np.diff(np.concatenate([[0], ends])))
    later = group_end - np.arange(it.size) - 1
    left = np.repeat(np.arange(it.size), later)
    offsets = np.arange(left.size) - np.repeat(np.cumsum(later) - later, later)
    right = left + offsets + 1
    wl, wr = w[left], w[right]
    lo, hi = np.minimum(wl, wr), np.maximum(wl, wr)
    key = lo * w_ids.size + hi
    agree = (lab[left] == lab[right]).astype(np.int64)
    gap = np.abs(t[left] - t[right])
    # Sort by (pair, gap) once: counts, agreements and medians fall out of the segments.
    order = np.lexsort((gap, key))
    key, agree, gap = key[order], agree[order], gap[order]
    keys, starts, shared = np.unique(key, return_index=True, return_counts=True)
    agreed = np.add.reduceat(agree, starts) if keys.size else np.zeros(0, np.int64)
    median = (gap[starts + (shared - 1) // 2] + gap[starts + shared // 2]) / 2.0
    return PairStats(w_ids, keys // w_ids.size, keys % w_ids.size, shared.astype(np.int64),
                     agreed.astype(np.int64), median)


def detect(
    worker: ArrayLike, item: ArrayLike, label: ArrayLike, at: ArrayLike,
    accuracy: Mapping[int, tuple[float, float]], n_classes: int,
    params: CollusionParams | None = None,
) -> CollusionReport:
    """Flagged pairs and groups among answers on non-gold items.

    `accuracy`: worker id -> (correct, answered), the evidence of the worker's accuracy (see
    the module doc); a worker missing from it is judged under the uniform prior.
    """
    params = params or CollusionParams()
    labels = np.asarray(label)
    if labels.size == 0:
        return CollusionReport([], [], 0)
    _, label_codes, label_counts = np.unique(labels, return_inverse=True, return_counts=True)
    w = wrong_coincidence(label_counts, max(int(n_classes), int(label_counts.size), 2))
    stats = pair_stats(worker, item, label_codes, at)
    keep = stats.shared >= params.min_common
    left, right = stats.left[keep], stats.right[keep]
    n, a, gap = stats.shared[keep], stats.agreed[keep], stats.median_gap[keep]
    evidence = np.array([accuracy.get(int(x), (0.0, 0.0)) for x in stats.workers],
                        dtype=float).reshape(-1, 2)
    q = (1.0 + evidence[:, 0]) / (2.0 + evidence[:, 1])  # posterior means
    expected = _agreement(q[left], q[right], w)
    rate = a / np.maximum(n, 1)
    p = np.ones(n.size)
    candidates = np.flatnonzero(rate - expected > params.margin)  # the tail only where it matters
    if candidates.size:
        p[candidates] = _averaged_tail(a[candidates], n[candidates], left[candidates],
                                       right[candidates], evidence, w, params.nodes)
    by_agreement = (p < params.p_value) & (rate - expected > params.margin)
    by_lockstep = (gap <= params.lockstep_seconds) & (rate >= params.lockstep_agreement)
    pairs = [
        PairEvidence(
            int(stats.workers[left[i]]), int(stats.workers[right[i]]), int(n[i]), int(a[i]),
            float(expected[i]), float(p[i]), float(gap[i]),
            tuple(r for r, hit in (("agreement", by_agreement[i]), ("lockstep", by_lockstep[i]))
                  if hit),
        )
        for i in np.flatnonzero(by_agreement | by_lockstep)
    ]
    pairs.sort(key=lambda e: (e.p_value, -e.shared, e.a, e.b))
    return CollusionReport(pairs, components([(e.a, e.b) for e in pairs]), int(n.size))


def _agreement(qi: FloatArray, qj: FloatArray, w: float) -> FloatArray:
    return qi * qj + (1.0 - qi) * (1.0 - qj) * w


def _averaged_tail(a: IntArray, n: IntArray, left: IntArray, right: IntArray,
                   evidence: FloatArray, w: float, nodes: int) -> FloatArray:
    """E over both workers' accuracy posteriors of P(X >= a | n, e(q_i, q_j)), per pair."""
    used, index = np.unique(np.concatenate([left, right]), return_inverse=True)
    grid = beta_nodes(evidence[used, 0], evidence[used, 1], nodes)  # (workers, nodes)
    gi, gj = grid[index[: left.size]], grid[index[left.size:]]
    e = _agreement(gi[:, :, None], gj[:, None, :], w).reshape(a.size, -1)  # (pairs, nodes²)
    tails = binom_tail(np.repeat(a, e.shape[1]), np.repeat(n, e.shape[1]), e.ravel())
    return np.asarray(tails.reshape(a.size, -1).mean(axis=1), dtype=float)


def components(edges: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components (union-find over the flagged pairs; they are few)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))
