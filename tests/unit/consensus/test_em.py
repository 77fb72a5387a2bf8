"""The EM engine: chunked/threaded passes, float32 internals, stopping rule, SQUAREM option."""

from __future__ import annotations

import numpy as np
import pytest

import consensus.em as em
from consensus import AnswerMatrix, DawidSkene, OneCoinDawidSkene, default_aggregator
from consensus.em import Sweeper, e_step, expected_counts, to_post

from .conftest import simulate


def _brute_counts(m: AnswerMatrix, probas: np.ndarray) -> np.ndarray:
    out = np.zeros((m.n_workers, m.n_labels, m.n_labels))
    for t, w, lab in zip(m.task, m.worker, m.label, strict=True):
        out[w, lab] += probas[t]
    return out


@pytest.mark.parametrize("chunked", [False, True])
def test_passes_match_a_brute_force_loop(chunked: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if chunked:  # force the two-chunk (threaded) path on a small matrix
        monkeypatch.setattr(em, "PARALLEL_MIN_ANSWERS", 0)
    m, _ = simulate(seed=11, n_tasks=120, n_labels=3)
    rng = np.random.default_rng(0)
    probas = rng.dirichlet(np.ones(3), m.n_tasks)
    conf = rng.dirichlet(np.ones(3), (m.n_workers, 3))  # [w, true, obs]
    prior = np.array([0.2, 0.3, 0.5])
    with Sweeper(m) as sweep:
        assert len(sweep.chunks) == (2 if chunked else 1)
        counts = expected_counts(m, to_post(probas), sweep)
        post, ll = e_step(m, (np.log(conf).transpose(0, 2, 1), np.log(prior)),
                          np.zeros(0, np.int64), np.zeros(0, np.int64), sweep, np.float64)
    assert np.allclose(counts, _brute_counts(m, probas), atol=1e-5)
    joint = np.tile(np.log(prior), (m.n_tasks, 1))
    for t, w, lab in zip(m.task, m.worker, m.label, strict=True):
        joint[t] += np.log(conf[w, :, lab])
    top = joint.max(axis=1, keepdims=True)
    norm = np.log(np.exp(joint - top).sum(axis=1)) + top[:, 0]
    assert np.isclose(ll, norm.sum())
    assert np.allclose(post.T, np.exp(joint - norm[:, None]))


def test_threads_and_chunks_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    m, _ = simulate(seed=12, n_tasks=400)
    single = DawidSkene().fit(m)
    monkeypatch.setattr(em, "PARALLEL_MIN_ANSWERS", 0)
    chunked = DawidSkene().fit(m)
    assert np.array_equal(single.labels_, chunked.labels_)
    assert np.allclose(single.probas_, chunked.probas_, atol=1e-6)
    assert single.n_iter_ == chunked.n_iter_


@pytest.mark.parametrize("make", [DawidSkene, OneCoinDawidSkene])
def test_stops_at_a_real_fixed_point(make) -> None:
    # n_iter_ counts E-steps; at the reported stop, more EM barely moves the likelihood
    m, _ = simulate(seed=13, n_tasks=500, good=0.65, overlap=5)
    agg = make(tol=1e-6).fit(m)
    longer = make(tol=1e-12, n_iter=2000).fit(m)
    assert 2 <= agg.n_iter_ < longer.n_iter_
    assert abs(longer.log_likelihood_ - agg.log_likelihood_) <= 1e-3 * abs(agg.log_likelihood_)
    assert (agg.labels_ == longer.labels_).mean() >= 0.99
    assert make(n_iter=3).fit(m).n_iter_ == 3  # the budget is honoured exactly


@pytest.mark.parametrize("make", [DawidSkene, OneCoinDawidSkene])
def test_squarem_reaches_the_same_answer(make) -> None:
    m, truth = simulate(seed=14, n_tasks=500, good=0.6, overlap=5)
    plain = make(accelerate=False, tol=1e-9, n_iter=3000).fit(m)
    fast = make(accelerate=True, tol=1e-9, n_iter=3000).fit(m)
    # the monotone safeguard keeps the likelihood at least as good at convergence
    assert fast.log_likelihood_ >= plain.log_likelihood_ - 1e-3 * abs(plain.log_likelihood_)
    assert (fast.labels_ == plain.labels_).mean() >= 0.99
    assert (fast.labels_ == truth).mean() >= (plain.labels_ == truth).mean() - 0.01


def test_reported_probas_are_float64_distributions() -> None:
    m, _ = simulate(seed=15)
    agg = default_aggregator().fit(m)
    assert agg.probas_.dtype == np.float64
    assert np.allclose(agg.probas_.sum(axis=1), 1.0, atol=1e-12)


def test_gold_mapping_with_int_keys_is_accepted() -> None:
    # typed Mapping[Any, Any]: dict[int, str] must type-check and work
    m = AnswerMatrix.from_triples([1, 2, 3], ["u", "u", "v"], ["a", "b", "b"])
    gold: dict[int, str] = {1: "b"}
    agg = default_aggregator().fit(m, gold=gold)
    assert m.decode_labels(agg.labels_)[0] == "b"


@pytest.mark.parametrize("n_workers", [50, 40_000])  # 16-bit radix path and wide-key path
def test_worker_label_groups_partition_the_answers(n_workers: int) -> None:
    rng = np.random.default_rng(16)
    n = 80_000
    m = AnswerMatrix.from_triples(rng.integers(0, 5_000, n), rng.integers(0, n_workers, n),
                                  rng.integers(0, 2, n), duplicates="keep")
    assert (m.n_workers * m.n_labels > 1 << 16) == (n_workers == 40_000)
    order, keys, starts = m.worker_label_groups
    assert np.array_equal(np.sort(order), np.arange(m.n_answers))
    grouped = m.worker_label_key[order]
    assert np.all(np.diff(grouped) >= 0)
    assert np.array_equal(keys, np.unique(grouped))
    assert np.array_equal(grouped[starts], keys)
