"""Collusion detection on simulated crowds with known membership (seeded numpy RNG)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from agreemint.services.collusion import (
    CollusionParams,
    CollusionReport,
    beta_nodes,
    binom_tail,
    components,
    detect,
    pair_stats,
    wrong_coincidence,
)

K = 3
CLASS_SHARE = np.array([0.5, 0.3, 0.2])  # imbalanced, as real data is


@dataclass
class Crowd:
    """Answers on regular items, plus each worker's gold record; ids by role."""

    rng: np.random.Generator
    truth: np.ndarray
    hard: np.ndarray  # per item: how much harder than average (honest accuracy drops)
    worker: list[int] = field(default_factory=list)
    item: list[int] = field(default_factory=list)
    label: list[int] = field(default_factory=list)
    at: list[float] = field(default_factory=list)
    gold: dict[int, tuple[int, int]] = field(default_factory=dict)  # worker -> (correct, answered)

    def add(self, w: int, i: int, lab: int, t: float) -> None:
        self.worker.append(w)
        self.item.append(i)
        self.label.append(int(lab))
        self.at.append(float(t))

    def honest_label(self, q: float, i: int) -> int:
        """Right with probability q (less on hard items); errors favour popular classes."""
        if self.rng.random() < max(q - self.hard[i], 1.0 / K):
            return int(self.truth[i])
        wrong = [c for c in range(K) if c != self.truth[i]]
        share = CLASS_SHARE[wrong] / CLASS_SHARE[wrong].sum()
        return int(self.rng.choice(wrong, p=share))

    def answer_gold(self, w: int, q: float, count: int) -> None:
        self.gold[w] = (int(self.rng.binomial(count, q)), count)

    def detect(self, params: CollusionParams | None = None) -> CollusionReport:
        accuracy = {w: (float(c), float(n)) for w, (c, n) in self.gold.items()}
        return detect(self.worker, self.item, self.label, self.at, accuracy, K, params)


def new_crowd(seed: int, items: int) -> Crowd:
    rng = np.random.default_rng(seed)
    truth = rng.choice(K, size=items, p=CLASS_SHARE)
    hard = np.where(rng.random(items) < 0.2, rng.uniform(0.1, 0.4, items), 0.0)
    return Crowd(rng, truth, hard)


def add_honest(crowd: Crowd, workers: list[int], items: range, overlap: int,
               gold: int = 8) -> None:
    qs = crowd.rng.uniform(0.6, 0.95, len(workers))
    for i in items:
        for k in crowd.rng.choice(len(workers), size=overlap, replace=False):
            t = crowd.rng.uniform(0, 86_400)
            crowd.add(workers[k], i, crowd.honest_label(qs[k], i), t)
    for w, q in zip(workers, qs, strict=True):
        crowd.answer_gold(w, q, gold)


def add_copiers(crowd: Crowd, leader: int, copiers: list[int], items: range, q: float = 0.6,
                noise: float = 0.05, gold: int = 8) -> None:
    """A leader answers honestly (and fast); the others copy minutes later, with small noise."""
    for i in items:
        lab, t = crowd.honest_label(q, i), crowd.rng.uniform(0, 86_400)
        crowd.add(leader, i, lab, t)
        for c in copiers:
            mine = lab if crowd.rng.random() > noise else int(crowd.rng.integers(K))
            crowd.add(c, i, mine, t + crowd.rng.uniform(60, 1800))
    correct = int(crowd.rng.binomial(gold, q))  # copying the leader on gold too
    for w in [leader, *copiers]:
        crowd.gold[w] = (correct, gold)


def add_farm(crowd: Crowd, accounts: list[int], items: range) -> None:
    """One script, many accounts: the same random choice per item, within a second."""
    for i in items:
        lab, t = int(crowd.rng.integers(K)), crowd.rng.uniform(0, 86_400)
        for a in accounts:
            crowd.add(a, i, lab, t + crowd.rng.uniform(0, 1))
    for a in accounts:
        crowd.answer_gold(a, 1.0 / K, 8)


HONEST = list(range(1, 61))
LEADER, COPIERS = 100, [101, 102, 103, 104, 105]
FARM = list(range(200, 210))


def mixed_crowd(seed: int) -> Crowd:
    """60 honest workers (accuracy 0.6-0.95, 300 items, overlap 5), a leader answering 80 items
    at accuracy 0.6 copied by 5 accounts, and a 10-account farm on 50 items; 20 gold each."""
    crowd = new_crowd(seed, 300)
    add_honest(crowd, HONEST, range(300), overlap=5, gold=20)
    add_copiers(crowd, LEADER, COPIERS, range(0, 80), gold=20)
    add_farm(crowd, FARM, range(100, 150))
    return crowd


def test_honest_are_clear_copiers_and_farm_are_grouped() -> None:
    report = mixed_crowd(7).detect()
    flagged = {w for e in report.pairs for w in (e.a, e.b)}
    assert not flagged & set(HONEST)
    assert sorted(report.groups) == sorted([[LEADER, *COPIERS], FARM])
    farm_pair = next(e for e in report.pairs if e.a in FARM)
    assert farm_pair.median_gap_s < 1 and "lockstep" in farm_pair.reasons
    copy_pair = next(e for e in report.pairs if e.a == LEADER)
    assert copy_pair.reasons == ("agreement",) and copy_pair.median_gap_s > 60
    assert copy_pair.agreed / copy_pair.shared - copy_pair.expected > 0.2
    assert copy_pair.p_value < 1e-6


def test_power_and_false_alarms_over_many_crowds() -> None:
    """Copiers of a mediocre leader are caught in most crowds (the misses: their shared gold
    record came out good by chance); the farm always; an honest worker never."""
    caught = 0
    for seed in range(20):
        report = mixed_crowd(100 + seed).detect()
        flagged = {w for e in report.pairs for w in (e.a, e.b)}
        assert not flagged & set(HONEST), seed
        assert FARM in report.groups
        caught += {LEADER, *COPIERS} <= flagged
    assert caught >= 17


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dense_honest_crowd_is_never_flagged(seed: int) -> None:
    """Every pair shares all 400 items, so any bias in the expectation would show."""
    crowd = new_crowd(seed, 400)
    add_honest(crowd, list(range(1, 13)), range(400), overlap=12, gold=20)
    report = crowd.detect()
    assert report.pairs_tested == 66 and report.pairs == []


def test_accuracy_from_consensus_is_not_trusted_blindly() -> None:
    """Copiers' consensus quality is inflated by their own majority and hides them (the reason
    gold comes first); the same answers judged by their gold record expose them."""
    crowd = new_crowd(11, 120)
    add_copiers(crowd, LEADER, COPIERS, range(120), gold=20)
    inflated = {w: (115.0, 120.0) for w in [LEADER, *COPIERS]}
    assert detect(crowd.worker, crowd.item, crowd.label, crowd.at, inflated, K).pairs == []
    assert crowd.detect().groups == [[LEADER, *COPIERS]]


def test_lockstep_flags_accurate_accounts_answering_together() -> None:
    crowd = new_crowd(5, 40)
    for i in range(40):
        lab, t = crowd.honest_label(0.97, i), crowd.rng.uniform(0, 86_400)
        crowd.add(1, i, lab, t)
        crowd.add(2, i, lab, t + crowd.rng.uniform(0.5, 2.5))
    accurate = {1: (39.0, 40.0), 2: (40.0, 40.0)}
    report = detect(crowd.worker, crowd.item, crowd.label, crowd.at, accurate, K)
    [pair] = report.pairs
    assert pair.reasons == ("lockstep",) and pair.median_gap_s < 3 and pair.shared == 40


def test_too_few_shared_items_are_not_judged() -> None:
    crowd = new_crowd(3, 7)
    add_farm(crowd, [1, 2], range(7))  # identical, in lock-step, but only 7 < 8 items
    assert crowd.detect().pairs == [] and crowd.detect().pairs_tested == 0
    assert crowd.detect(CollusionParams(min_common=5)).groups == [[1, 2]]


def test_pair_stats_match_a_direct_count() -> None:
    rng = np.random.default_rng(0)
    w, i = rng.integers(0, 6, 300), rng.integers(0, 25, 300)
    lab, t = rng.integers(0, 3, 300), rng.uniform(0, 100, 300)
    stats = pair_stats(w, i, lab, t)
    first: dict[tuple[int, int], tuple[int, float]] = {}
    for row in zip(w.tolist(), i.tolist(), lab.tolist(), t.tolist(), strict=True):
        first.setdefault((row[0], row[1]), (row[2], row[3]))  # a repeat keeps the first answer
    direct: dict[tuple[int, int], list[tuple[bool, float]]] = {}
    for (w1, i1), (l1, t1) in first.items():
        for (w2, i2), (l2, t2) in first.items():
            if i1 == i2 and w1 < w2:
                direct.setdefault((w1, w2), []).append((l1 == l2, abs(t1 - t2)))
    got = {(int(stats.workers[a]), int(stats.workers[b])): (int(n), int(g), float(m))
           for a, b, n, g, m in zip(stats.left, stats.right, stats.shared, stats.agreed,
                                    stats.median_gap, strict=True)}
    assert set(got) == set(direct)
    for pair, rows in direct.items():
        assert got[pair][:2] == (len(rows), sum(r[0] for r in rows))
        assert got[pair][2] == pytest.approx(float(np.median([r[1] for r in rows])))


@pytest.mark.parametrize(("a", "n", "p"), [(5, 10, 0.3), (10, 10, 0.5), (48, 50, 0.8),
                                           (30, 100, 0.33), (0, 5, 0.5), (95, 100, 0.4)])
def test_binomial_tail_is_exact(a: int, n: int, p: float) -> None:
    exact = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(a, n + 1))
    assert binom_tail([a], [n], [p])[0] == pytest.approx(exact, rel=1e-9)


def test_expectation_pieces() -> None:
    assert wrong_coincidence([100, 100, 100], 3) == pytest.approx(0.5, abs=1e-3)
    assert wrong_coincidence([700, 200, 100], 3) > 0.5  # errors crowd onto popular classes
    assert wrong_coincidence([], 2) == 1.0
    nodes = beta_nodes([3, 0, 27], [10, 0, 30], nodes=24)
    assert nodes.shape == (3, 24) and (np.diff(nodes, axis=1) > 0).all()
    assert nodes[0].mean() == pytest.approx(4 / 12, abs=0.01)  # Beta(4, 8)
    assert nodes[1].mean() == pytest.approx(0.5, abs=0.01) and nodes[1, -1] > 0.97  # uniform
    assert nodes[2].mean() == pytest.approx(28 / 32, abs=0.01)
    assert components([(1, 2), (3, 4), (2, 5), (9, 3)]) == [[1, 2, 5], [3, 4, 9]]


def test_thousands_of_workers_in_a_few_seconds() -> None:
    rng = np.random.default_rng(42)
    items, overlap, workers = 60_000, 5, 4_000
    w = np.concatenate([rng.choice(workers, size=overlap, replace=False) for _ in range(items)])
    i = np.repeat(np.arange(items), overlap)
    lab, t = rng.integers(0, K, w.size), rng.uniform(0, 86_400, w.size)
    accuracy = {x: (16.0, 20.0) for x in range(workers)}
    start = time.perf_counter()
    report = detect(w, i, lab, t, accuracy, K)
    assert time.perf_counter() - start < 3.0
    assert report.pairs == []
