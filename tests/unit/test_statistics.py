"""Lift intervals against published values, their coverage, and Thompson shares."""

from __future__ import annotations

import numpy as np
import pytest

from tools.statistics import (
    LiftEstimate,
    mean_lift,
    proportion_lift,
    relative_lift,
    thompson_shares,
)

# Newcombe (1998), "Interval estimation for the difference between independent proportions",
# Statistics in Medicine 17:873-890, Table II, method 10 (score interval, no continuity correction).
NEWCOMBE_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE_METHOD_10)
def test_newcombe_interval_matches_published_values(
    counts: tuple[int, int, int, int], interval: tuple[float, float]
) -> None:
    est = proportion_lift(*counts)
    assert est.ci_low == pytest.approx(interval[0], abs=1e-4)
    assert est.ci_high == pytest.approx(interval[1], abs=1e-4)
    assert est.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


def test_pooled_z_p_value() -> None:
    # 56/70 vs 48/80: pooled p = 104/150, z = 0.2 / sqrt(p(1-p)(1/70 + 1/80)) = 2.6501
    # -> two-sided p = 0.00805
    est = proportion_lift(56, 70, 48, 80)
    assert est.p_value == pytest.approx(0.008047, abs=2e-5)
    assert proportion_lift(0, 10, 0, 10).p_value == 1.0


def test_small_samples_are_flagged_with_a_note() -> None:
    small = proportion_lift(56, 70, 48, 80)
    assert small.small_sample
    assert "Small sample" in small.note
    rare = proportion_lift(3, 500, 2, 500)  # large groups, too few expected successes
    assert rare.small_sample
    big = proportion_lift(300, 2000, 200, 2000)
    assert not big.small_sample
    assert "Small sample" not in big.note
    assert "treatment beat the holdout" in big.note


def test_empty_or_impossible_groups_raise() -> None:
    with pytest.raises(ValueError, match="holdout group is empty"):
        proportion_lift(1, 10, 0, 0)
    with pytest.raises(ValueError, match="treated group is empty"):
        proportion_lift(0, 0, 1, 10)
    with pytest.raises(ValueError, match="11 successes out of 10"):
        proportion_lift(11, 10, 1, 10)
    with pytest.raises(ValueError, match="treated group is empty"):
        mean_lift([], [1.0])
    with pytest.raises(ValueError, match="holdout group is empty"):
        mean_lift([1.0], [])
    with pytest.raises(ValueError, match="confidence"):
        proportion_lift(1, 10, 1, 10, confidence=95)


def test_welch_interval_matches_reference() -> None:
    # Reference values: scipy.stats.ttest_ind(a, b, equal_var=False) and its confidence_interval.
    est = mean_lift([1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12])
    assert est.estimate == pytest.approx(-4.0)
    assert est.ci_low == pytest.approx(-7.98346869562883, abs=1e-8)
    assert est.ci_high == pytest.approx(-0.016531304371169675, abs=1e-8)
    assert est.p_value == pytest.approx(0.04928433820673053, abs=1e-9)

    a = [19.1, 20.3, 18.7, 21.4, 22.0, 19.9, 20.8]
    b = [17.2, 18.9, 16.8, 18.1, 19.5]
    est90 = mean_lift(a, b, confidence=0.90, metric="order_value")
    assert est90.metric == "order_value"
    assert est90.ci_low == pytest.approx(0.9752977874133963, abs=1e-8)
    assert est90.ci_high == pytest.approx(3.4532736411580336, abs=1e-8)
    assert est90.p_value == pytest.approx(0.00953735775833162, abs=1e-9)


def test_mean_lift_without_variance_does_not_crash() -> None:
    est = mean_lift([0.0] * 150, [0.0] * 150)
    assert (est.estimate, est.ci_low, est.ci_high, est.p_value) == (0.0, 0.0, 0.0, 1.0)
    single = mean_lift([5.0], [1.0, 2.0, 3.0])
    assert single.small_sample
    assert single.ci_low < single.estimate < single.ci_high


def _coverage(truth_p1: float, truth_p2: float, n: int, reps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        x1 = int(rng.binomial(n, truth_p1))
        x2 = int(rng.binomial(n, truth_p2))
        est = proportion_lift(x1, n, x2, n)
        hits += est.ci_low <= truth_p1 - truth_p2 <= est.ci_high
    return hits / reps


def test_proportion_interval_covers_the_truth_about_95_percent() -> None:
    assert 0.92 <= _coverage(0.12, 0.09, 800, 400, seed=7) <= 0.98
    assert 0.92 <= _coverage(0.30, 0.30, 200, 400, seed=8) <= 0.98


def test_mean_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    truth = 2.0 * 1.0 - 1.5 * 1.0  # exponential means: 2.0 vs 1.5
    hits = 0
    for _ in range(400):
        est = mean_lift(rng.exponential(2.0, 300).tolist(), rng.exponential(1.5, 250).tolist())
        hits += est.ci_low <= truth <= est.ci_high
    assert 0.92 <= hits / 400 <= 0.98


def test_thompson_shares_sum_to_one_and_favour_the_better_arm() -> None:
    shares = thompson_shares({"a": (30, 1000), "b": (60, 1000)})
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["b"] > 0.99
    close = thompson_shares({"a": (50, 1000), "b": (55, 1000), "c": (45, 1000)})
    assert sum(close.values()) == pytest.approx(1.0)
    assert close["b"] > close["a"] > close["c"] > 0.0
    # An untried arm keeps being explored (uniform prior beats a 6 % arm most of the time).
    assert thompson_shares({"b": (60, 1000), "new": (0, 0)})["new"] > 0.5
    # Same seed, same answer; no data means even odds.
    assert thompson_shares({"x": (1, 2), "y": (3, 9)}, seed=3) == thompson_shares(
        {"x": (1, 2), "y": (3, 9)}, seed=3
    )
    even = thompson_shares({"x": (0, 0), "y": (0, 0)}, draws=20000)
    assert even["x"] == pytest.approx(0.5, abs=0.02)


def test_thompson_shares_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one arm"):
        thompson_shares({})
    with pytest.raises(ValueError, match="5 successes out of 3"):
        thompson_shares({"a": (5, 3)})


def test_relative_lift() -> None:
    est = proportion_lift(150, 1000, 100, 1000)
    assert relative_lift(est) == pytest.approx(0.5)
    zero = LiftEstimate(**{**est.model_dump(), "holdout_value": 0.0})
    assert relative_lift(zero) is None


def test_few_observed_successes_in_a_group_are_flagged_even_when_expected_is_enough() -> None:
    # the demo's shape: a small holdout with a single conversion
    est = proportion_lift(175, 1164, 1, 110)
    assert est.small_sample and "fewest observed 1" in est.note
    assert not proportion_lift(1750, 11640, 100, 1100).small_sample
