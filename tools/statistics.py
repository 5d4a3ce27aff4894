"""Lift against a holdout with confidence intervals, and Thompson-sampling allocation.

Only the standard library and numpy: the Newcombe (Wilson hybrid) interval for a difference of
proportions, the Welch interval for a difference of means, and Beta posteriors for arms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist

import numpy as np
from pydantic import BaseModel

_MIN_GROUP_N = 100
"""Below this many people in a group, an estimate is flagged as a small sample."""

_MIN_EXPECTED_SUCCESSES = 10
"""Below this many expected successes in a group, a proportion estimate is flagged."""


class LiftEstimate(BaseModel):
    """The effect of treatment against a holdout on one metric, with its interval."""

    metric: str
    """What was measured, e.g. `conversion_rate` or `revenue_per_person`."""
    treated_n: int
    """People in the treated group."""
    holdout_n: int
    """People in the holdout group."""
    treated_value: float
    """The metric in the treated group (a rate or a mean)."""
    holdout_value: float
    """The metric in the holdout group."""
    estimate: float
    """Absolute lift: treated value minus holdout value."""
    ci_low: float
    """Lower end of the confidence interval of the lift."""
    ci_high: float
    """Upper end of the confidence interval of the lift."""
    confidence: float
    """Confidence level of the interval, e.g. 0.95."""
    p_value: float
    """Two-sided p-value of "no difference"."""
    small_sample: bool
    """True when the groups are too small for the estimate to be relied on."""
    note: str
    """A sentence a marketer can read: what the estimate says and how far to trust it."""


def _z(confidence: float) -> float:
    """The two-sided normal critical value for a confidence level."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a single proportion."""
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _check_counts(name: str, successes: int, n: int) -> None:
    """Reject empty groups and impossible counts with a message naming the group."""
    if n <= 0:
        raise ValueError(f"the {name} group is empty (n={n}); lift needs people in both groups")
    if not 0 <= successes <= n:
        raise ValueError(f"the {name} group has {successes} successes out of {n} people")


def _fmt_pct(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def proportion_lift(
    treated_successes: int,
    treated_n: int,
    holdout_successes: int,
    holdout_n: int,
    *,
    confidence: float = 0.95,
    metric: str = "conversion_rate",
) -> LiftEstimate:
    """Difference of two proportions with a Newcombe (Wilson hybrid) interval.

    The p-value is two-sided from a pooled z-test. Groups under 100 people, or with fewer than
    10 expected or observed successes in a group, are flagged as small samples.
    """
    _check_counts("treated", treated_successes, treated_n)
    _check_counts("holdout", holdout_successes, holdout_n)
    z = _z(confidence)
    p1, p2 = treated_successes / treated_n, holdout_successes / holdout_n
    diff = p1 - p2
    l1, u1 = _wilson(treated_successes, treated_n, z)
    l2, u2 = _wilson(holdout_successes, holdout_n, z)
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)

    pooled = (treated_successes + holdout_successes) / (treated_n + holdout_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / treated_n + 1 / holdout_n))
    p_value = math.erfc(abs(diff) / se / math.sqrt(2)) if se > 0 else 1.0

    expected = min(treated_n * pooled, holdout_n * pooled)
    observed = min(treated_successes, holdout_successes)
    small = (
        min(treated_n, holdout_n) < _MIN_GROUP_N
        or expected < _MIN_EXPECTED_SUCCESSES
        or observed < _MIN_EXPECTED_SUCCESSES
    )
    note = _note(metric, diff, low, high, confidence, _fmt_pct)
    if small:
        note += (
            f" Small sample (treated n={treated_n}, holdout n={holdout_n}, expected successes "
            f"{expected:.1f}, fewest observed {observed}): not enough data to rely on this "
            "estimate."
        )
    return LiftEstimate(
        metric=metric,
        treated_n=treated_n,
        holdout_n=holdout_n,
        treated_value=p1,
        holdout_value=p2,
        estimate=diff,
        ci_low=max(-1.0, low),
        ci_high=min(1.0, high),
        confidence=confidence,
        p_value=min(1.0, p_value),
        small_sample=small,
        note=note,
    )


def mean_lift(
    treated: Sequence[float],
    holdout: Sequence[float],
    *,
    confidence: float = 0.95,
    metric: str = "revenue_per_person",
) -> LiftEstimate:
    """Difference of two means (e.g. revenue per person) with a Welch interval.

    Groups under 100 people are flagged as small samples. When both groups have no variance
    (e.g. nobody bought anything), the interval collapses to the observed difference.
    """
    t = np.asarray(treated, dtype=float)
    h = np.asarray(holdout, dtype=float)
    if t.size == 0:
        raise ValueError("the treated group is empty; lift needs people in both groups")
    if h.size == 0:
        raise ValueError("the holdout group is empty; lift needs people in both groups")
    _z(confidence)  # validates the level
    n1, n2 = int(t.size), int(h.size)
    m1, m2 = float(t.mean()), float(h.mean())
    diff = m1 - m2
    a = float(t.var(ddof=1)) / n1 if n1 > 1 else 0.0
    b = float(h.var(ddof=1)) / n2 if n2 > 1 else 0.0
    se = math.sqrt(a + b)
    if se > 0:
        df_denom = (a * a / (n1 - 1) if a > 0 else 0.0) + (b * b / (n2 - 1) if b > 0 else 0.0)
        df = (a + b) ** 2 / df_denom
        crit = _t_quantile(0.5 + confidence / 2.0, df)
        low, high = diff - crit * se, diff + crit * se
        p_value = _t_two_sided_p(diff / se, df)
    else:
        low = high = diff
        p_value = 1.0 if diff == 0 else 0.0

    small = min(n1, n2) < _MIN_GROUP_N or n1 < 2 or n2 < 2
    note = _note(metric, diff, low, high, confidence, lambda x: f"{x:+.4g}")
    if small:
        note += (
            f" Small sample (treated n={n1}, holdout n={n2}): not enough data to rely on this "
            "estimate."
        )
    return LiftEstimate(
        metric=metric,
        treated_n=n1,
        holdout_n=n2,
        treated_value=m1,
        holdout_value=m2,
        estimate=diff,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=min(1.0, p_value),
        small_sample=small,
        note=note,
    )


def thompson_shares(
    arms: Mapping[str, tuple[int, int]], *, draws: int = 10000, seed: int = 0
) -> dict[str, float]:
    """Probability that each arm is best, from Beta(1+s, 1+t-s) posteriors.

    `arms` maps an arm name to `(successes, trials)`. The shares sum to 1 and are the
    Thompson-sampling allocation of future sends.
    """
    if not arms:
        raise ValueError("thompson_shares needs at least one arm")
    if draws <= 0:
        raise ValueError(f"draws must be positive, got {draws}")
    names = list(arms)
    for name in names:
        successes, trials = arms[name]
        if trials < 0 or not 0 <= successes <= trials:
            raise ValueError(f"arm {name!r} has {successes} successes out of {trials} trials")
    rng = np.random.default_rng(seed)
    samples = np.column_stack(
        [rng.beta(1 + s, 1 + t - s, size=draws) for s, t in (arms[n] for n in names)]
    )
    wins = np.bincount(samples.argmax(axis=1), minlength=len(names))
    return {name: float(wins[i]) / draws for i, name in enumerate(names)}


def relative_lift(est: LiftEstimate) -> float | None:
    """Lift as a fraction of the holdout value (0.25 = +25 %); None when the holdout is 0."""
    if est.holdout_value == 0:
        return None
    return est.estimate / est.holdout_value


def _note(
    metric: str,
    diff: float,
    low: float,
    high: float,
    confidence: float,
    f: Callable[[float], str],
) -> str:
    """One sentence on the direction of the lift and whether the interval excludes zero."""
    level = f"{confidence * 100:g} %"
    span = f"{level} interval {f(low)} to {f(high)}"
    if low > 0:
        verdict = "treatment beat the holdout"
    elif high < 0:
        verdict = "treatment did worse than the holdout"
    else:
        verdict = "no difference from the holdout can be claimed"
    return f"{metric}: lift {f(diff)} ({span}); {verdict}."


# --- Student t distribution (regularized incomplete beta), to avoid a scipy dependency ---


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p-value of a t statistic with `df` degrees of freedom."""
    if math.isinf(df) or df > 1e7:
        return math.erfc(abs(t) / math.sqrt(2))
    return _betainc(df / 2.0, 0.5, df / (df + t * t))


def _t_quantile(q: float, df: float) -> float:
    """Quantile of the Student t distribution for 0.5 < q < 1 (bisection on the CDF)."""
    if df > 1e7:
        return NormalDist().inv_cdf(q)
    target = 2.0 * (1.0 - q)  # two-sided tail mass
    lo, hi = 0.0, 1.0
    while _t_two_sided_p(hi, df) > target:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if _t_two_sided_p(mid, df) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0
