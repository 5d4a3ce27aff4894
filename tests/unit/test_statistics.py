"""Lift intervals against published values, their coverage, and Thompson shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tools.statistics import (
    LiftEstimate,
    PairedMoments,
    cuped_lift,
    mean_lift,
    off_policy_value,
    proportion_lift,
    relative_lift,
    sequential_interval,
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


def test_p_value_inverts_the_newcombe_interval() -> None:
    # 56/70 vs 48/80: the (1 - p) Newcombe interval has its lower bound exactly at 0.
    est = proportion_lift(56, 70, 48, 80)
    at_p = proportion_lift(56, 70, 48, 80, confidence=1 - est.p_value)
    assert at_p.ci_low == pytest.approx(0.0, abs=1e-9)
    assert 0.001 < est.p_value < 0.02  # near the pooled z-test's 0.0080, not equal to it
    assert proportion_lift(0, 10, 0, 10).p_value == 1.0
    neg = proportion_lift(48, 80, 56, 70)
    assert neg.p_value == pytest.approx(est.p_value)


def test_p_value_and_interval_never_disagree() -> None:
    # The pooled z-test and the Newcombe interval disagreed in 8 of 3,016 cases; one method now.
    rng = np.random.default_rng(3)
    for _ in range(1500):
        n1, n2 = int(rng.integers(5, 400)), int(rng.integers(5, 400))
        p = rng.uniform(0.01, 0.6)
        x1 = int(rng.binomial(n1, min(1.0, p * rng.uniform(0.7, 1.5))))
        x2 = int(rng.binomial(n2, p))
        est = proportion_lift(x1, n1, x2, n2)
        excludes = est.ci_low > 0 or est.ci_high < 0
        if abs(est.p_value - 0.05) > 1e-6:
            assert excludes == (est.p_value < 0.05), (x1, n1, x2, n2)
        seq_excludes = est.sequential_low > 0 or est.sequential_high < 0
        if abs(est.sequential_p_value - 0.05) > 1e-6:
            assert seq_excludes == (est.sequential_p_value < 0.05), (x1, n1, x2, n2)


def test_a_group_of_one_never_gets_a_finite_interval() -> None:
    for est in (
        mean_lift([250.0], [0.0] * 99 + [80.0]),
        mean_lift([0.0] * 50, [0.0]),
        proportion_lift(1, 1, 10, 200),
    ):
        assert est.ci_low == -math.inf and est.ci_high == math.inf
        assert est.sequential_low == -math.inf and est.sequential_high == math.inf
        assert est.p_value == 1.0 and est.small_sample
    # JSON has no infinity: the bounds become null, which reads "no bound".
    dumped = mean_lift([250.0], [0.0, 1.0]).model_dump(mode="json")
    assert dumped["ci_low"] is None and dumped["ci_high"] is None


def test_revenue_flags_count_buyers_in_each_group() -> None:
    many_people_few_buyers = [0.0] * 995 + [40.0, 55.0, 80.0, 120.0, 300.0]
    est = mean_lift(many_people_few_buyers * 2, many_people_few_buyers)
    assert est.small_sample and "non-zero outcomes in a group 5" in est.note
    rich = [0.0] * 900 + [60.0] * 100
    assert not mean_lift(rich, rich).small_sample


def _zero_inflated(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Spend: most people buy nothing; buyers spend a log-normal (skewed) amount."""
    buys = rng.random(n) < p
    return np.where(buys, rng.lognormal(4.0, 0.8, n), 0.0)


@pytest.mark.parametrize(("n_treated", "n_holdout"), [(900, 100), (3000, 300)])
def test_revenue_interval_covers_zero_inflated_skewed_spend(n_treated: int, n_holdout: int) -> None:
    # Buyer rates 6 % vs 3 %: the holdout of 100 has about 3 buyers (the 83.5 % case).
    rng = np.random.default_rng(n_holdout)
    truth = (0.06 - 0.03) * math.exp(4.0 + 0.8**2 / 2)
    reps, hits, welch_hits = 600, 0, 0
    for _ in range(reps):
        t, h = _zero_inflated(rng, n_treated, 0.06), _zero_inflated(rng, n_holdout, 0.03)
        est = mean_lift(t, h)
        hits += est.ci_low <= truth <= est.ci_high
        se = math.sqrt(t.var(ddof=1) / t.size + h.var(ddof=1) / h.size)
        welch_hits += abs(est.estimate - truth) <= 1.96 * se
    assert 0.93 <= hits / reps <= 0.99
    assert welch_hits < hits  # the plain Welch interval covers less


def test_sequential_interval_is_wider_than_fixed_and_tightest_near_plan() -> None:
    est = proportion_lift(300, 2000, 200, 2000)
    assert est.sequential_low < est.ci_low and est.sequential_high > est.ci_high
    assert est.sequential_low > 0  # still decisive on a clear effect
    widths = {
        planned: (lambda lo_hi: lo_hi[1] - lo_hi[0])(
            sequential_interval(0.05, 1e-4, n=4000, planned_n=planned)
        )
        for planned in (400, 4000, 40000)
    }
    assert widths[4000] < widths[400] and widths[4000] < widths[40000]
    with pytest.raises(ValueError, match="positive"):
        sequential_interval(0.0, 1.0, n=0)


def test_sequential_interval_keeps_its_level_under_repeated_looks() -> None:
    # A/A: 300 runs, 25 looks each; a fixed-horizon interval would fire in ~20 % of runs.
    rng = np.random.default_rng(5)
    fired_seq = fired_fixed = 0
    for _ in range(300):
        a, b = rng.random(5000) < 0.1, rng.random(5000) < 0.1
        seq = fixed = False
        for k in range(1, 26):
            m = 200 * k
            est = proportion_lift(int(a[:m].sum()), m, int(b[:m].sum()), m, planned_n=10000)
            seq |= est.sequential_low > 0 or est.sequential_high < 0
            fixed |= est.ci_low > 0 or est.ci_high < 0
        fired_seq += seq
        fired_fixed += fixed
    assert fired_seq / 300 <= 0.05
    assert fired_fixed / 300 > 0.10


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


def test_off_policy_value_recovers_a_known_policy_value() -> None:
    # Two arms with conversion 5 % (A) and 9 % (B); logged 80/20, evaluate "all on B".
    rng = np.random.default_rng(9)
    covered = {"IPS": 0, "SNIPS": 0}
    estimates: dict[str, list[float]] = {"IPS": [], "SNIPS": []}
    for _ in range(300):
        arm_b = rng.random(4000) < 0.2
        reward = np.where(arm_b, rng.random(4000) < 0.09, rng.random(4000) < 0.05).astype(float)
        propensity = np.where(arm_b, 0.2, 0.8)
        target = arm_b.astype(float)
        for v in off_policy_value(reward, propensity, target):
            covered[v.estimator] += v.ci_low <= 0.09 <= v.ci_high
            estimates[v.estimator].append(v.estimate)
            assert v.effective_n == pytest.approx(4000 * 0.2, rel=0.1)
    for name in covered:
        assert 0.92 <= covered[name] / 300 <= 0.98
        assert float(np.mean(estimates[name])) == pytest.approx(0.09, abs=0.002)
    # Evaluating the logging policy itself gives back the plain mean.
    ips, snips = off_policy_value([1.0, 0.0, 1.0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    assert ips.estimate == snips.estimate == pytest.approx(2 / 3)


def test_off_policy_value_rejects_impossible_logs() -> None:
    with pytest.raises(ValueError, match="never chosen"):
        off_policy_value([1.0, 0.0], [0.0, 0.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="differ in length"):
        off_policy_value([1.0, 0.0], [0.5], [1.0, 0.0])
    with pytest.raises(ValueError, match="at least two"):
        off_policy_value([1.0], [0.5], [1.0])


def _paired(y: np.ndarray, x: np.ndarray) -> PairedMoments:
    m = PairedMoments()
    for a, b in zip(y.tolist(), x.tolist(), strict=True):
        m.add(a, b)
    return m


def test_cuped_narrows_the_interval_and_keeps_coverage() -> None:
    rng = np.random.default_rng(21)
    hits, ratios = 0, []
    for _ in range(200):
        xt, xh = rng.gamma(2.0, 50.0, 800), rng.gamma(2.0, 50.0, 800)
        yt = 0.3 * xt + 5.0 + rng.normal(0, 10, 800)  # true effect +5
        yh = 0.3 * xh + rng.normal(0, 10, 800)
        adj = cuped_lift(_paired(yt, xt), _paired(yh, xh), metric="spend", covariate="history")
        plain = mean_lift(yt, yh)
        hits += adj.ci_low <= 5.0 <= adj.ci_high
        ratios.append((adj.ci_high - adj.ci_low) / (plain.ci_high - plain.ci_low))
    assert 0.92 <= hits / 200 <= 0.98
    assert float(np.median(ratios)) < 0.5  # x explains most of y's variance
    assert adj.metric == "spend (CUPED on history)" and "narrows the interval" in adj.note
    assert adj.sequential_low < adj.ci_low


def test_cuped_without_a_useful_covariate_is_the_plain_difference() -> None:
    y1, y0 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.0, 5.0, 6.0])
    flat = np.zeros(4)
    adj = cuped_lift(_paired(y1, flat), _paired(y0, flat))
    plain = mean_lift(y1, y0)
    assert adj.estimate == pytest.approx(plain.estimate)
    assert adj.ci_low == pytest.approx(plain.ci_low) and adj.p_value == pytest.approx(plain.p_value)
