"""BayesianWeightedAverage: what its precisions mean, and the sparse crowds it is for."""

from __future__ import annotations

import numpy as np
import pytest

from consensus import AnswerMatrix, BayesianWeightedAverage, DawidSkene, MajorityVote

from .conftest import simulate, spammer_crowd


def test_experts_get_more_precision_and_skill_than_spammers() -> None:
    m, _ = spammer_crowd(11, 300)
    agg = BayesianWeightedAverage().fit(m)
    expert = np.array([str(w).startswith("expert") for w in m.worker_ids.tolist()])
    assert agg.precisions_.shape == (m.n_workers, m.n_labels)
    assert agg.precisions_[expert].min() > agg.precisions_[~expert].max()
    assert agg.skills_[expert].min() > agg.skills_[~expert].max()


def test_sparse_crowd_does_not_fall_below_majority_vote() -> None:
    # 1,500 workers with 2-3 answers each: too few to learn a confusion matrix per worker
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 4, 800)
    skill = rng.uniform(0.45, 0.9, 1500)
    rows = []
    for t in range(800):
        for w in rng.choice(1500, 5, replace=False):
            right = rng.random() < skill[w]
            lab = truth[t] if right else (truth[t] + rng.integers(1, 4)) % 4
            rows.append((t, int(w), int(lab)))
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    mv = (MajorityVote().fit_predict(m) == truth).mean()
    bwa = (BayesianWeightedAverage().fit_predict(m) == truth).mean()
    ds = (DawidSkene().fit_predict(m) == truth).mean()
    assert bwa >= mv
    assert bwa >= ds


def test_a_strong_prior_reduces_to_majority_vote() -> None:
    m, _ = simulate(seed=9, good=0.6)
    heavy = BayesianWeightedAverage(a_v=1e9).fit(m)
    assert np.array_equal(heavy.labels_, MajorityVote().fit_predict(m))
    assert np.ptp(heavy.precisions_, axis=0).max() < 1e-3 * heavy.precisions_.max()


def test_warm_start_needs_a_fitted_model_of_its_own_kind() -> None:
    m, _ = simulate(seed=6)
    with pytest.raises(ValueError, match="init"):
        BayesianWeightedAverage().fit(m, init=DawidSkene().fit(m))
    with pytest.raises(ValueError, match="init"):
        BayesianWeightedAverage().fit(m, init=BayesianWeightedAverage())
