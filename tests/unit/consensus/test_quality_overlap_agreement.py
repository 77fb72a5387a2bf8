from __future__ import annotations

import numpy as np
import pytest

from consensus import (
    AnswerMatrix,
    DawidSkene,
    beta_quantiles,
    fleiss_kappa,
    krippendorff_alpha,
    needs_more_answers,
    worker_quality,
)

from .conftest import simulate


def test_beta_quantiles_match_known_values() -> None:
    # Beta(1, 1) is uniform; Beta(2, 1) has CDF x², so its median is sqrt(0.5)
    q = beta_quantiles(np.array([1.0, 2.0, 500.0]), np.array([1.0, 1.0, 500.0]), (0.05, 0.5, 0.95))
    assert np.allclose(q[0], [0.05, 0.5, 0.95], atol=2e-3)
    assert np.isclose(q[1, 1], np.sqrt(0.5), atol=2e-3)
    sd = np.sqrt(0.25 / 1001)  # nearly normal when a = b = 500
    assert np.allclose(q[2], [0.5 - 1.645 * sd, 0.5, 0.5 + 1.645 * sd], atol=1e-3)


def test_worker_quality_intervals_shrink_with_answers_and_rank_workers() -> None:
    m, _ = simulate(seed=11, n_workers=12, overlap=5)
    wq = worker_quality(m, DawidSkene().fit(m).probas_, level=0.9)
    assert np.all((wq.lower <= wq.mean) & (wq.mean <= wq.upper))
    assert np.all((wq.lower >= 0) & (wq.upper <= 1))
    # a worker with 2 answers has a wider interval than one with hundreds
    rows = [(t, "busy", "a") for t in range(200)] + [(0, "new", "a"), (1, "new", "a")]
    m2 = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    probas = np.ones((m2.n_tasks, 1))
    q2 = worker_quality(m2, probas)
    width = dict(zip(q2.worker_ids.tolist(), (q2.upper - q2.lower).tolist(), strict=True))
    assert width["new"] > 5 * width["busy"]
    assert q2.as_dict()["busy"][0] > 0.99


def test_worker_quality_flags_confident_spammers() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 300)
    rows = [(t, f"good{w}", int(truth[t])) for t in range(300) for w in range(3)]
    rows += [(t, "contrarian", int(1 - truth[t])) for t in range(300)]
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    wq = worker_quality(m, DawidSkene().fit(m).probas_)
    flagged = set(np.asarray(wq.worker_ids)[wq.confidently_below(0.5)].tolist())
    assert flagged == {"contrarian"}


def test_worker_quality_rejects_bad_input() -> None:
    m, _ = simulate(seed=1, n_tasks=20)
    with pytest.raises(ValueError, match="shape"):
        worker_quality(m, np.ones((3, 3)))
    with pytest.raises(ValueError, match="level"):
        worker_quality(m, DawidSkene().fit(m).probas_, level=1.5)


def test_needs_more_answers_rule() -> None:
    probas = np.array([[0.99, 0.01], [0.6, 0.4], [0.6, 0.4], [0.5, 0.5]])
    counts = np.array([3, 3, 5, 1])
    more = needs_more_answers(probas, counts, target_confidence=0.9, max_overlap=5)
    assert more.tolist() == [False, True, False, True]
    more = needs_more_answers(probas, counts, 0.9, 5, min_overlap=4)
    assert more.tolist() == [True, True, False, True]
    with pytest.raises(ValueError):
        needs_more_answers(probas, counts[:2], 0.9, 5)
    with pytest.raises(ValueError):
        needs_more_answers(probas, counts, 0.0, 5)


def test_fleiss_kappa_textbook_example() -> None:
    # Fleiss (1971)-style table from Wikipedia's worked example: kappa ≈ 0.210
    table = np.array([
        [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ])
    assert fleiss_kappa(table) == pytest.approx(0.210, abs=1e-3)


def test_krippendorff_alpha_known_values() -> None:
    # Krippendorff (2011), 4 observers × 12 units with missing values: nominal alpha = 0.743
    units = [
        [1, 1, None, 1], [2, 2, 3, 2], [3, 3, 3, 3], [3, 3, 3, 3], [2, 2, 2, 2], [1, 2, 3, 4],
        [4, 4, 4, 4], [1, 1, 2, 1], [2, 2, 2, 2], [None, 5, 5, 5], [None, None, 1, 1],
        [None, 3, None, None],
    ]
    rows = [(u, c, v) for u, vals in enumerate(units) for c, v in enumerate(vals) if v is not None]
    m = AnswerMatrix.from_triples(*zip(*rows, strict=True))
    assert krippendorff_alpha(m, "nominal") == pytest.approx(0.743, abs=1e-3)
    perfect = AnswerMatrix.from_triples([1, 1, 2, 2], [1, 2, 1, 2], [1, 1, 3, 3])
    assert krippendorff_alpha(perfect, "ordinal") == pytest.approx(1.0)
    assert fleiss_kappa(perfect) == pytest.approx(1.0)


def test_ordinal_alpha_rewards_near_misses() -> None:
    near = AnswerMatrix.from_triples([1, 1, 2, 2, 3, 3], [1, 2] * 3, [1, 2, 4, 5, 1, 1],
                                     label_ids=[1, 2, 3, 4, 5])
    far = AnswerMatrix.from_triples([1, 1, 2, 2, 3, 3], [1, 2] * 3, [1, 5, 1, 5, 1, 1],
                                    label_ids=[1, 2, 3, 4, 5])
    assert krippendorff_alpha(near, "ordinal") > krippendorff_alpha(far, "ordinal")
    assert krippendorff_alpha(near, "ordinal") > krippendorff_alpha(near, "nominal")


def test_agreement_undefined_without_variation() -> None:
    m = AnswerMatrix.from_triples([1, 1], [1, 2], ["a", "a"])
    assert np.isnan(fleiss_kappa(m))
    assert np.isnan(krippendorff_alpha(m))
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(AnswerMatrix.from_triples([1, 1], [1, 2], ["a", "b"]), "ratio")  # type: ignore[arg-type]
