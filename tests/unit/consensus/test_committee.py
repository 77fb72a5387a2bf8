"""The default committee: the mean posterior of AutoSelect, DawidSkene and OneCoinDawidSkene."""

from __future__ import annotations

import numpy as np
import pytest

from consensus import (
    AnswerMatrix,
    AutoSelect,
    Committee,
    DawidSkene,
    OneCoinDawidSkene,
    default_aggregator,
)

from .conftest import gold_accuracy, load_dataset, simulate
from .test_gold_choice import _first, biased_workers, gold_of, one_coin_skewed


def _accuracy(labels: np.ndarray, truth: np.ndarray) -> float:
    return float((labels == truth).mean())


def test_the_default_is_the_committee_with_the_model_choice_first() -> None:
    agg = default_aggregator()
    assert isinstance(agg, Committee)
    m, _ = one_coin_skewed(0, n_tasks=60)
    members = agg.fit(m).members_
    assert [type(x) for x in members] == [AutoSelect, DawidSkene, OneCoinDawidSkene]
    assert agg.chosen_ == members[0].chosen_  # what a round records


@pytest.mark.parametrize("seed", [0, 1])
def test_one_coin_outvotes_a_rich_model_that_over_calls_a_rare_class(seed: int) -> None:
    # 80/20 classes, one-coin workers, no gold: the likelihood's pick over-calls the rare class
    m, truth = one_coin_skewed(seed)
    committee = _accuracy(Committee().fit_predict(m), truth)
    assert committee >= _accuracy(AutoSelect().fit_predict(m), truth) + 0.08


@pytest.mark.parametrize("seed", [0, 1])
def test_full_confusions_outvote_one_coin_where_workers_are_biased(seed: int) -> None:
    # errors depend on the true class: one coin per worker is near chance here
    m, truth = biased_workers(seed)
    committee = _accuracy(Committee().fit_predict(m), truth)
    assert committee >= _accuracy(OneCoinDawidSkene().fit_predict(m), truth) + 0.3
    best = max(_accuracy(make().fit_predict(m), truth) for make in (AutoSelect, DawidSkene))
    assert committee >= best - 0.03


def test_two_agreeing_members_decide_a_label_on_real_data() -> None:
    # bluebirds: experts with one-sided errors; one coin per worker labels ~30 points worse
    m, gold = load_dataset("bluebirds")
    agg = Committee().fit(m)
    alone = gold_accuracy(m, OneCoinDawidSkene().fit_predict(m), gold)
    assert alone < 0.7 and gold_accuracy(m, agg.labels_, gold) >= 0.884  # crowd-kit DS − 0.5
    probas = [x.probas_ for x in agg.members_]
    picks = [p.argmax(axis=1) for p in probas]
    dissent = 0
    for a, b, odd in ((0, 1, 2), (0, 2, 1), (1, 2, 0)):
        pair = (picks[a] == picks[b]) & (picks[odd] != picks[a])
        dissent += int(pair.sum())
        assert np.array_equal(agg.labels_[pair], picks[a][pair])
        # the dissenter does not dilute the confidence of the two that agree
        assert np.allclose(agg.probas_[pair], (probas[a][pair] + probas[b][pair]) / 2)
    assert dissent >= 20  # one coin disagrees on many items here
    # so the committee is as sure as its majority: dynamic overlap buys no answers that
    # cannot change a label (a plain mean of the three is below 0.95 on ~half the items)
    assert (agg.probas_.max(axis=1) >= 0.95).mean() >= 0.9
    unanimous = (picks[0] == picks[1]) & (picks[1] == picks[2])
    assert np.allclose(agg.probas_[unanimous], np.mean(probas, axis=0)[unanimous])


def test_gold_reaches_every_member_and_is_clamped() -> None:
    m, truth = one_coin_skewed(0)
    gold, rest = gold_of(m, truth)
    agg = Committee().fit(m, gold=gold)
    rich = agg.members_[0]
    assert isinstance(rich, AutoSelect) and rich.gold_scores_  # its choice by gold ran
    assert rich.chosen_ == agg.chosen_ == "OneCoinDawidSkene"
    assert np.array_equal(agg.labels_[~rest], truth[~rest])
    assert np.allclose(agg.probas_[~rest].max(axis=1), 1.0)
    without = _accuracy(Committee().fit_predict(m)[rest], truth[rest])
    assert _accuracy(agg.labels_[rest], truth[rest]) >= without
    clamped = Committee(gold_select=False).fit(m, gold=gold)
    assert clamped.members_[0].gold_scores_ == {}


def test_warm_start_warms_every_member() -> None:
    m, truth = simulate(seed=4, n_tasks=600, good=0.6, overlap=5)  # slow to converge cold
    early = _first(m, m.n_tasks * 9 // 10)
    prev = Committee().fit(early)
    warm, cold = Committee().fit(m, init=prev), Committee().fit(m)
    for k in (1, 2):  # the EM members start from the previous fit's parameters
        assert warm.members_[k].n_iter_ < cold.members_[k].n_iter_
    assert warm.members_[0].selected_on_ == early.n_answers  # the model choice is reused
    assert _accuracy(warm.labels_, truth) >= _accuracy(cold.labels_, truth) - 0.02
    # an aggregator of another class warm-starts the members of its class only
    ds = DawidSkene().fit(early)
    assert Committee().fit(m, init=ds).members_[1].n_iter_ < cold.members_[1].n_iter_
    # on an easy crowd a warm start lands where a cold fit does
    m, _ = simulate(seed=4)
    prev = Committee().fit(_first(m, m.n_tasks * 9 // 10))
    assert (Committee().fit(m, init=prev).labels_ == Committee().fit_predict(m)).mean() >= 0.99


def test_empty_and_single_label_matrices() -> None:
    empty = AnswerMatrix.from_triples([], [], [], label_ids=["a", "b"])
    agg = Committee().fit(empty)
    assert agg.probas_.shape == (0, 2) and agg.labels_.shape == (0,)
    one = AnswerMatrix.from_triples([1, 2], ["u", "v"], ["a", "a"])
    assert one.decode_labels(Committee().fit_predict(one)) == ["a", "a"]
