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

Rings. A group that spreads itself thin (three to an item, a dozen items per pair) slips under
the pair test; collusion_groups.py tests such groups as a whole. Reported groups are the
connected components of flagged pairs and rings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from agreemint.services.collusion_groups import RingEvidence, RingParams, find_rings
from agreemint.services.collusion_math import (
    beta_nodes,
    binom_tail,
    class_shares,
    components,
    max_wrong_share,
    wrong_coincidence,
)

__all__ = [
    "CollusionParams", "CollusionReport", "PairEvidence", "PairStats", "RingEvidence",
    "beta_nodes", "binom_tail", "class_shares", "components", "detect", "pair_stats",
    "wrong_coincidence",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CollusionParams:
    p_value: float = 1e-6
    min_common: int = 8
    margin: float = 0.2  # a/n - e above this, besides the p-value
    lockstep_seconds: float = 3.0
    lockstep_agreement: float = 0.9
    nodes: int = 24  # quantile nodes per worker for the posterior average of the p-value
    rings: RingParams = field(default_factory=RingParams)


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
    groups: list[list[int]]  # connected components of flagged pairs and rings, largest first
    pairs_tested: int  # pairs with >= min_common shared items
    rings: list[RingEvidence] = field(default_factory=list)  # most improbable first


@dataclass(frozen=True, slots=True)
class PairStats:
    """Every pair of workers that shared at least one item (index arrays into `workers`)."""

    workers: IntArray  # the distinct worker ids
    left: IntArray
    right: IntArray
    shared: IntArray
    agreed: IntArray
    median_gap: FloatArray
    errors: IntArray  # agreed on an answer the consensus confidently rejects (0 without `off`)


@dataclass(frozen=True, slots=True)
class Answers:
    """One answer per (worker, item), the first given: worker index into `workers`, item id,
    label, time."""

    workers: IntArray  # the distinct worker ids
    worker: IntArray
    item: IntArray
    label: NDArray[np.generic]
    at: FloatArray


def first_answers(worker: ArrayLike, item: ArrayLike, label: ArrayLike, at: ArrayLike) -> Answers:
    w_ids, w = np.unique(np.asarray(worker, dtype=np.int64), return_inverse=True)
    it = np.asarray(item, dtype=np.int64).ravel()
    lab = np.asarray(label).ravel()
    t = np.asarray(at, dtype=float).ravel()
    _, first = np.unique(w.astype(np.int64) * (int(it.max(initial=0)) + 1) + it,
                         return_index=True)
    first.sort()
    return Answers(w_ids, w[first].astype(np.int64), it[first], lab[first], t[first])


def pair_stats(worker: ArrayLike, item: ArrayLike, label: ArrayLike, at: ArrayLike) -> PairStats:
    """Shared items, agreements and the median answer gap of every co-answering pair.

    Vectorized: answers are grouped by item and each item's answer pairs are enumerated with
    index arithmetic, so the work is Σ_items m² (m = answers on the item), never workers².
    A repeated (worker, item) keeps its first answer.
    """
    return _pair_stats(first_answers(worker, item, label, at))


def _pair_stats(answers: Answers, off: NDArray[np.bool_] | None = None) -> PairStats:
    """`off`, per answer: its label is one the consensus confidently rejects."""
    w_ids = answers.workers
    order = np.argsort(answers.item, kind="stable")
    w, it = answers.worker[order], answers.item[order]
    lab, t = answers.label[order], answers.at[order]
    wrong = np.zeros(it.size, dtype=bool) if off is None else off[order]
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
    erred = agree * wrong[left]
    gap = np.abs(t[left] - t[right])
    # Sort by (pair, gap) once: counts, agreements and medians fall out of the segments.
    order = np.lexsort((gap, key))
    key, agree, erred, gap = key[order], agree[order], erred[order], gap[order]
    keys, starts, shared = np.unique(key, return_index=True, return_counts=True)
    none = np.zeros(0, np.int64)
    agreed = np.add.reduceat(agree, starts) if keys.size else none
    errors = np.add.reduceat(erred, starts) if keys.size else none
    median = (gap[starts + (shared - 1) // 2] + gap[starts + shared // 2]) / 2.0
    return PairStats(w_ids, keys // w_ids.size, keys % w_ids.size, shared.astype(np.int64),
                     agreed.astype(np.int64), median, errors.astype(np.int64))


def detect(
    worker: ArrayLike, item: ArrayLike, label: ArrayLike, at: ArrayLike,
    accuracy: Mapping[int, tuple[float, float]], n_classes: int,
    params: CollusionParams | None = None,
    consensus: Mapping[int, tuple[object, float]] | None = None,
    gold: Mapping[int, object] | None = None,
) -> CollusionReport:
    """Flagged pairs and groups.

    `accuracy`: worker id -> (correct, answered), the evidence of the worker's accuracy (see
    the module doc); a worker missing from it is judged under the uniform prior. `consensus`:
    item id -> (label, confidence) from the latest round, which sharpens the ring test.
    `gold`: item id -> gold label. Pairs are judged on non-gold items only (gold is their
    accuracy evidence); rings also count answers on gold items, where the key says exactly
    whether a copied answer is wrong (collusion_groups.py).
    """
    params = params or CollusionParams()
    gold = gold or {}
    labels = np.asarray(label)
    if labels.size == 0:
        return CollusionReport([], [], 0)
    label_ids, label_codes = np.unique(labels, return_inverse=True)
    gold_ids = np.fromiter(gold, np.int64, len(gold))
    on_gold = np.isin(np.asarray(item, dtype=np.int64).ravel(), gold_ids)
    label_counts = np.bincount(label_codes[~on_gold], minlength=label_ids.size)
    k = max(int(n_classes), int(label_counts.size), 2)
    w = wrong_coincidence(label_counts, k)
    everything = first_answers(worker, item, label_codes, at)
    answers = _without(everything, np.isin(everything.item, gold_ids))
    cons = _consensus_codes(consensus or {}, label_ids, gold)
    stats = _pair_stats(answers, _rejected(answers, cons, params.rings.trust_cap))
    least = min(params.min_common, params.rings.edge_min_common)
    keep = stats.shared >= least
    left, right = stats.left[keep], stats.right[keep]
    n, a, gap = stats.shared[keep], stats.agreed[keep], stats.median_gap[keep]
    evidence = np.array([accuracy.get(int(x), (0.0, 0.0)) for x in stats.workers],
                        dtype=float).reshape(-1, 2)
    q = (1.0 + evidence[:, 0]) / (2.0 + evidence[:, 1])  # posterior means
    expected = _agreement(q[left], q[right], w)
    rate = a / np.maximum(n, 1)
    p = np.ones(n.size)
    above = rate - expected > params.margin
    candidates = np.flatnonzero(above)  # the tail only where it matters
    if candidates.size:
        p[candidates] = _averaged_tail(a[candidates], n[candidates], left[candidates],
                                       right[candidates], evidence, w, params.nodes)
    judged = n >= params.min_common
    by_agreement = judged & (p < params.p_value) & above
    by_lockstep = judged & (gap <= params.lockstep_seconds) & (rate >= params.lockstep_agreement)
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
    errors = stats.errors[keep]
    edges = np.flatnonzero((above & (p < params.rings.edge_p))
                           | ((errors >= params.rings.edge_errors) & above))
    rings = find_rings(
        stats.workers, (everything.worker, everything.item, everything.label.astype(np.int64)),
        cons,
        list(zip(left[edges].tolist(), right[edges].tolist(), strict=True)), evidence,
        max_wrong_share(label_counts, k), params.margin, params.p_value, params.nodes,
        params.rings)
    links = [(e.a, e.b) for e in pairs]
    links += [(g.workers[0], x) for g in rings for x in g.workers[1:]]
    return CollusionReport(pairs, components(links), int(judged.sum()), rings)


def _without(answers: Answers, drop: NDArray[np.bool_]) -> Answers:
    keep = ~drop
    return Answers(answers.workers, answers.worker[keep], answers.item[keep],
                   answers.label[keep], answers.at[keep])


def _consensus_codes(
    consensus: Mapping[int, tuple[object, float]], label_ids: NDArray[np.generic],
    gold: Mapping[int, object] | None = None,
) -> tuple[IntArray, IntArray, FloatArray, NDArray[np.bool_]]:
    """(sorted item ids, label code or -1 for a label nobody answered, confidence, exact):
    the round's consensus, with gold keys (confidence 1, exact) in place of it."""
    merged = {int(i): (v[0], float(v[1]), False) for i, v in consensus.items()}
    merged.update({int(i): (v, 1.0, True) for i, v in (gold or {}).items()})
    items = np.array(sorted(merged), dtype=np.int64)
    codes = {v: c for c, v in enumerate(label_ids.tolist())}
    labels = np.array([codes.get(merged[int(i)][0], -1) for i in items], dtype=np.int64)
    confidence = np.array([merged[int(i)][1] for i in items], dtype=float)
    exact = np.array([merged[int(i)][2] for i in items], dtype=bool)
    return items, labels, confidence, exact


def _rejected(answers: Answers,
              cons: tuple[IntArray, IntArray, FloatArray, NDArray[np.bool_]],
              cap: float) -> NDArray[np.bool_]:
    """Per answer: the consensus names another label with more than even confidence."""
    items, labels, confidence, _ = cons
    if items.size == 0:
        return np.zeros(answers.item.size, dtype=bool)
    at = np.minimum(np.searchsorted(items, answers.item), items.size - 1)
    known = (items[at] == answers.item) & (labels[at] >= 0)
    return np.asarray(known & (labels[at] != answers.label)
                      & (np.minimum(confidence[at], cap) > 0.5), dtype=bool)


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
