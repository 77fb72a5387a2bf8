"""The pieces the collusion tests share: accuracy posteriors, binomial tails, the class
distribution of answers, and connected groups of workers. Pure numpy."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
_GRID = 2000  # points of the accuracy grid the Beta quantiles are read from


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


def class_shares(label_counts: ArrayLike, n_classes: int) -> FloatArray:
    """π: how often each class is answered, smoothed so that no class is impossible."""
    k = max(int(n_classes), 2)
    counts = np.zeros(k, dtype=float)
    given = np.asarray(label_counts, dtype=float)[:k]
    counts[: given.size] = given
    if counts.sum() <= 0:
        return np.full(k, 1.0 / k)
    return np.asarray((counts + 0.5) / (counts.sum() + 0.5 * k), dtype=float)


def wrong_coincidence(label_counts: ArrayLike, n_classes: int) -> float:
    """w: the chance two independent wrong answers on one item coincide (see collusion.py)."""
    k = max(int(n_classes), 2)
    if np.asarray(label_counts, dtype=float).sum() <= 0:
        return 1.0 / (k - 1)
    pi = class_shares(label_counts, k)
    w = 0.0
    for c in range(k):
        others = np.delete(pi, c) / (1.0 - pi[c])
        w += pi[c] * float(np.sum(others**2))
    return max(w, 1.0 / (k - 1))


def max_wrong_share(label_counts: ArrayLike, n_classes: int) -> float:
    """r: the largest chance that a wrong answer lands on one given label, max over c ≠ d of
    π_d / (1 - π_c); 1/(K - 1) when classes are even."""
    pi = class_shares(label_counts, n_classes)
    k = pi.size
    return max(float(pi[d] / (1.0 - pi[c])) for c in range(k) for d in range(k) if c != d)


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




def poisson_binomial_tail(a: int, probs: FloatArray) -> FloatArray:
    """P(X >= a) for X a sum of independent Bernoulli(probs[..., i]), one per row of `probs`
    (rows: accuracy nodes; columns: items). Exact, by dynamic programming over the items."""
    rows, n = probs.shape
    if a <= 0:
        return np.ones(rows)
    if a > n:
        return np.zeros(rows)
    if a == n:  # every item matched: the common case for a ring, and exact
        return np.asarray(np.exp(np.log(np.clip(probs, 1e-300, 1.0)).sum(axis=1)), dtype=float)
    dist = np.zeros((rows, n + 1))
    dist[:, 0] = 1.0
    for i in range(n):
        p = probs[:, i : i + 1]
        dist[:, 1 : i + 2] = dist[:, 1 : i + 2] * (1.0 - p) + dist[:, : i + 1] * p
        dist[:, 0] *= 1.0 - p[:, 0]
    return np.asarray(np.clip(dist[:, a:].sum(axis=1), 0.0, 1.0), dtype=float)


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
