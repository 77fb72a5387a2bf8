"""LogLinearDawidSkene: the MAP M-step, toy crowds with known truth, the shared datasets."""

from __future__ import annotations

import numpy as np

from consensus import AnswerMatrix, DawidSkene, LogLinearDawidSkene
from consensus.loglinear import map_logits

from .conftest import gold_accuracy, load_dataset, simulate
from .test_datasets import FLOORS


def test_map_logits_zeroes_the_gradient_even_from_far_away() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 400, (50, 4)).astype(float)
    counts[:5] = 0.0  # rows without data sit at the prior mean
    counts[5:10, 1:] = 0.0  # all mass on one label: large but finite logits
    mean = np.tile(0.25 * np.eye(4), (13, 1))[:50]
    sigma = map_logits(counts, 2.0, mean, rng.normal(0, 20, (50, 4)))
    p = np.exp(sigma - sigma.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    grad = counts - counts.sum(axis=1, keepdims=True) * p - 2.0 * (sigma - mean)
    assert np.abs(grad).max() < 1e-6
    assert np.allclose(sigma[:5], mean[:5])


def test_recovers_truth_with_distributions_and_uniform_prior() -> None:
    m, truth = simulate(seed=11, n_labels=4, good=0.7, overlap=5)
    agg = LogLinearDawidSkene().fit(m)
    assert (agg.labels_ == truth).mean() >= 0.9
    assert np.allclose(agg.errors_.sum(axis=2), 1.0)
    assert np.allclose(agg.priors_, 0.25)
    assert np.all((agg.skills_ > 0.25) & (agg.skills_ < 1))


def test_prior_shrink_zero_learns_the_class_prior() -> None:
    # 80% of the tasks are class 0: a fitted prior must see it, the default stays uniform
    rng = np.random.default_rng(3)
    truth = (rng.random(400) > 0.8).astype(int)
    rows = [(t, w, int(truth[t]) if rng.random() < 0.75 else 1 - int(truth[t]))
            for t in range(400) for w in rng.choice(20, 5, replace=False)]
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    fitted = LogLinearDawidSkene(prior_shrink=0.0).fit(m)
    assert fitted.priors_[0] > 0.7
    assert np.allclose(LogLinearDawidSkene().fit(m).priors_, 0.5)


def test_one_stray_answer_does_not_outvote_a_good_crowd() -> None:
    # Gaussian logits keep never-seen cells possible: the expert's single slip on task 0 is
    # outweighed by four reliable workers who agree
    rng = np.random.default_rng(8)
    truth = rng.integers(0, 3, 300)
    rows = [(t, "expert", int(truth[t])) for t in range(1, 300)] + [(0, "expert", 2)]
    truth[0] = 0
    for t in range(300):
        for w in range(4):
            lab = truth[t] if rng.random() < 0.8 else (truth[t] + 1) % 3
            rows.append((t, f"w{w}", int(lab)))
    rows = [r for r in rows if not (r[0] == 0 and r[1].startswith("w"))] + [
        (0, f"w{w}", 0) for w in range(4)]
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    assert LogLinearDawidSkene().fit_predict(m)[0] == 0


def test_shared_datasets_floors_and_gain_over_dawid_skene() -> None:
    ours, ds = {}, {}
    for name, floor in FLOORS.items():
        m, gold = load_dataset(name)
        ours[name] = gold_accuracy(m, LogLinearDawidSkene().fit_predict(m), gold)
        ds[name] = gold_accuracy(m, DawidSkene().fit_predict(m), gold)
        assert ours[name] >= floor, name
    assert np.mean(list(ours.values())) >= np.mean(list(ds.values())) + 0.005
    assert ours["web"] >= 0.875  # the graded scale, where Dirichlet-smoothed DS gives 0.840


def test_map_logits_does_not_cycle_when_newton_overshoots() -> None:
    # 400 answers, 80% on label 1, starting 2 nats the wrong way: a capped full Newton step
    # swung between ±2.4 for ever; with backtracking it converges
    counts = np.array([[75.0, 325.0]])
    mean = np.array([[1.035, -1.035]])
    sigma = map_logits(counts, 2.0, mean, mean.copy())
    p = np.exp(sigma) / np.exp(sigma).sum()
    grad = counts - 400.0 * p - 2.0 * (sigma - mean)
    assert np.abs(grad).max() < 1e-6


def _graded_crowd(seed: int) -> tuple[AnswerMatrix, np.ndarray]:
    """Five grades; every worker reads a grade one step up or down a third of the time (never
    further); a few prolific workers and many who answer a handful of tasks."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 5, 600)
    busy = np.r_[np.full(10, 0.05), np.full(110, 0.5 / 110)]  # 10 workers give half the answers
    rows = []
    for t in range(600):
        for w in rng.choice(120, 5, replace=False, p=busy):
            shift = rng.choice([-1, 0, 1], p=[1 / 6, 2 / 3, 1 / 6])
            rows.append((t, f"w{w}", int(np.clip(truth[t] + shift, 0, 4))))
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True), label_ids=[0, 1, 2, 3, 4])
    return m, truth[m.task_ids.astype(int)]


def test_pooled_prior_learns_which_grades_the_crowd_mixes_up() -> None:
    m, truth = _graded_crowd(0)
    pooled = LogLinearDawidSkene(pooled=True).fit(m)
    mean = pooled.prior_mean_
    assert mean.shape == (5, 5) and np.allclose(mean.sum(axis=1), 0.0)  # centred rows
    for k in range(1, 4):  # a neighbour is far likelier than a grade two steps away
        assert mean[k, k] > mean[k, k - 1] > mean[k, (k + 2) % 5] + 1.0
        assert mean[k, k + 1] > mean[k, (k + 3) % 5] + 1.0
    # a worker with two answers gets (nearly) the crowd's confusion, not a flat one
    sparse = int(np.argmin(np.bincount(m.worker)))
    log_conf = np.log(pooled.errors_[sparse])
    centred = log_conf - log_conf.mean(axis=1, keepdims=True)
    assert np.abs(centred - mean).max() < 1.0
    assert (pooled.labels_ == truth).mean() >= (LogLinearDawidSkene().fit(m).labels_
                                               == truth).mean() - 0.01
    fixed = LogLinearDawidSkene().fit(m)
    assert np.allclose(fixed.prior_mean_, 0.25 * np.eye(5))


def test_pooled_warm_start_continues_from_the_previous_mean() -> None:
    m, _ = _graded_crowd(1)
    first = LogLinearDawidSkene(pooled=True).fit(m)
    again = LogLinearDawidSkene(pooled=True).fit(m, init=first)
    assert again.n_iter_ < first.n_iter_
    assert (again.labels_ == first.labels_).mean() >= 0.99
    assert np.allclose(again.prior_mean_, first.prior_mean_, atol=0.05)
