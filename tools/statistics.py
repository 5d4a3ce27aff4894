"""Lift against a holdout with confidence intervals, and Thompson-sampling allocation.

Only the standard library and numpy:

- rates: the Newcombe (Wilson hybrid) interval for a difference of proportions, with the
  p-value found by inverting that same interval (so "p < 0.05" and "the 95 % interval excludes
  0" always agree);
- means (revenue per person): a Welch t interval whose group variances never fall below what a
  zero-inflated outcome implies (a buyer rate shrunk by half a pseudo-buyer and half a non-buyer,
  order values pooled over both groups), so a group with two buyers does not look certain;
- every lift also carries an always-valid interval (a normal-mixture confidence sequence): it
  stays valid however often it is looked at, which is what decisions taken on every optimizer
  run need; the fixed-horizon interval is right only for one look at a planned end;
- CUPED: a difference of means adjusted for a pre-period covariate, when one exists;
- Beta posteriors for Thompson sampling between arms;
- IPS and SNIPS off-policy estimates of a new allocation policy from logged propensities.

A group of fewer than two people gets no finite interval: one observation carries no variance.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist

import numpy as np
from pydantic import BaseModel, field_serializer, field_validator

_MIN_GROUP_N = 100
"""Below this many people in a group, an estimate is flagged as a small sample."""

_MIN_EXPECTED_SUCCESSES = 10
"""Below this many expected successes in a group, a proportion estimate is flagged."""


class LiftEstimate(BaseModel):
    """The effect of treatment against a holdout on one metric, with its interval.

    An interval without a finite bound (a group of one) has infinite ends; in JSON they are
    `null` ("no bound") and read back as infinities.
    """

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
    method: str = ""
    """How the fixed-horizon interval and its p-value were computed (one method for both)."""
    sequential_low: float = -math.inf
    """Lower end of the always-valid interval (valid under continuous monitoring)."""
    sequential_high: float = math.inf
    """Upper end of the always-valid interval."""
    sequential_p_value: float = 1.0
    """Always-valid p-value at this look (1 / mixture likelihood ratio), consistent with the
    always-valid interval."""

    @field_serializer("ci_low", "ci_high", "sequential_low", "sequential_high")
    def _no_infinity(self, value: float) -> float | None:
        return value if math.isfinite(value) else None

    @field_validator("ci_low", "sequential_low", mode="before")
    @classmethod
    def _no_lower_bound(cls, value: object) -> object:
        return -math.inf if value is None else value

    @field_validator("ci_high", "sequential_high", mode="before")
    @classmethod
    def _no_upper_bound(cls, value: object) -> object:
        return math.inf if value is None else value


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


def _fmt_num(x: float) -> str:
    return f"{x:+.4g}"


def sequential_interval(
    estimate: float,
    variance: float,
    *,
    n: int,
    planned_n: int | None = None,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Always-valid interval and p-value for an asymptotically normal estimate.

    A normal-mixture confidence sequence (Robbins; Howard et al. 2021; Waudby-Smith et al.
    2023, "Time-uniform central limit theory"): `estimate` ± sqrt(V (1 + 1/r)
    (2 log(1/α) + log(1 + r))) with V the estimate's variance after `n` observations and
    r = c·n/planned_n, c chosen so the interval is tightest at `planned_n` (default: `n`, one
    look). The chance that it ever misses the truth, over every look up to any n, is at most
    1 − `confidence` (asymptotically). The p-value is 1 / the mixture likelihood ratio at this
    look, so p < α exactly when the interval excludes 0. Returns (low, high, p_value).
    """
    alpha = 1.0 - confidence
    _z(confidence)  # validates the level
    if n <= 0 or (planned_n is not None and planned_n <= 0):
        raise ValueError(f"n ({n}) and planned_n ({planned_n}) must be positive")
    if variance <= 0 or not math.isfinite(variance):
        if variance == 0:
            return estimate, estimate, 1.0 if estimate == 0 else 0.0
        return -math.inf, math.inf, 1.0
    log_a = math.log(1.0 / alpha)
    c = 2 * log_a + math.log(1 + 2 * log_a)
    r = c * n / (planned_n or n)
    half = math.sqrt(variance * (1 + 1 / r) * (2 * log_a + math.log1p(r)))
    z2 = estimate * estimate / variance
    log_lr = 0.5 * r / (1 + r) * z2 - 0.5 * math.log1p(r)
    p_value = min(1.0, math.exp(-log_lr)) if log_lr < 700 else 0.0
    return estimate - half, estimate + half, p_value


def _newcombe(x1: int, n1: int, x2: int, n2: int, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval of p1 − p2 (method 10) at critical value `z`."""
    p1, p2 = x1 / n1, x2 / n2
    diff = p1 - p2
    l1, u1 = _wilson(x1, n1, z)
    l2, u2 = _wilson(x2, n2, z)
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def _newcombe_p_value(x1: int, n1: int, x2: int, n2: int) -> float:
    """The smallest α at which the Newcombe (1 − α) interval excludes 0 (inverting it)."""
    diff = x1 / n1 - x2 / n2
    if diff == 0:
        return 1.0
    side = 0 if diff > 0 else 1  # the bound that moves towards 0

    def crosses(z: float) -> bool:
        bound = _newcombe(x1, n1, x2, n2, z)[side]
        return bound <= 0 if diff > 0 else bound >= 0

    lo, hi = 0.0, 1.0
    while not crosses(hi):
        hi *= 2.0
        if hi > 64:
            return 0.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if crosses(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12:
            break
    return math.erfc(hi / math.sqrt(2))


def _small_note(detail: str) -> str:
    return f" Small sample ({detail}): not enough data to rely on this estimate."


def proportion_lift(
    treated_successes: int,
    treated_n: int,
    holdout_successes: int,
    holdout_n: int,
    *,
    confidence: float = 0.95,
    metric: str = "conversion_rate",
    planned_n: int | None = None,
) -> LiftEstimate:
    """Difference of two proportions with a Newcombe (Wilson hybrid) interval.

    The p-value inverts the same interval. The always-valid interval is a normal-mixture
    confidence sequence on the Agresti–Caffo rates (one success and one failure added per
    group), tuned for `planned_n` people in all (default: the people seen so far). Groups under
    100 people, or with fewer than 10 expected or observed successes (or failures) in a group,
    are flagged as small samples; a group of one gets no finite interval.
    """
    _check_counts("treated", treated_successes, treated_n)
    _check_counts("holdout", holdout_successes, holdout_n)
    z = _z(confidence)
    p1, p2 = treated_successes / treated_n, holdout_successes / holdout_n
    diff = p1 - p2
    if min(treated_n, holdout_n) < 2:
        low, high, p_value = -math.inf, math.inf, 1.0
    else:
        low, high = _newcombe(treated_successes, treated_n, holdout_successes, holdout_n, z)
        p_value = _newcombe_p_value(treated_successes, treated_n, holdout_successes, holdout_n)
    a1 = (treated_successes + 1) / (treated_n + 2)
    a2 = (holdout_successes + 1) / (holdout_n + 2)
    variance = a1 * (1 - a1) / (treated_n + 2) + a2 * (1 - a2) / (holdout_n + 2)
    if min(treated_n, holdout_n) < 2:
        seq = (-math.inf, math.inf, 1.0)
    else:
        s_low, s_high, s_p = sequential_interval(
            a1 - a2, variance, n=treated_n + holdout_n, planned_n=planned_n, confidence=confidence
        )
        seq = (max(-1.0, s_low), min(1.0, s_high), s_p)

    pooled = (treated_successes + holdout_successes) / (treated_n + holdout_n)
    expected = min(treated_n * pooled, holdout_n * pooled)
    observed = min(treated_successes, holdout_successes)
    failures = min(treated_n - treated_successes, holdout_n - holdout_successes)
    small = (
        min(treated_n, holdout_n) < _MIN_GROUP_N
        or expected < _MIN_EXPECTED_SUCCESSES
        or observed < _MIN_EXPECTED_SUCCESSES
        or failures < _MIN_EXPECTED_SUCCESSES
    )
    note = _note(metric, diff, low, high, confidence, _fmt_pct)
    if small:
        note += _small_note(
            f"treated n={treated_n}, holdout n={holdout_n}, expected successes "
            f"{expected:.1f}, fewest observed {observed}"
        )
    return LiftEstimate(
        metric=metric,
        treated_n=treated_n,
        holdout_n=holdout_n,
        treated_value=p1,
        holdout_value=p2,
        estimate=diff,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=min(1.0, p_value),
        small_sample=small,
        note=note,
        method="Newcombe hybrid score interval; p-value by inverting it",
        sequential_low=seq[0],
        sequential_high=seq[1],
        sequential_p_value=seq[2],
    )


class SampleMoments(BaseModel):
    """What a difference of means needs from one group, gathered in one pass (streaming)."""

    n: int = 0
    """Observations."""
    nonzero: int = 0
    """Observations different from 0 (e.g. buyers)."""
    total: float = 0.0
    """Sum of the values."""
    total_sq: float = 0.0
    """Sum of the squared values."""

    def add(self, value: float) -> None:
        """Count one observation."""
        self.n += 1
        if value != 0:
            self.nonzero += 1
            self.total += value
            self.total_sq += value * value

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> SampleMoments:
        """The moments of a sequence of values."""
        v = np.asarray(values, dtype=float)
        return cls(
            n=int(v.size),
            nonzero=int(np.count_nonzero(v)),
            total=float(v.sum()),
            total_sq=float((v * v).sum()),
        )

    @property
    def mean(self) -> float:
        """Mean value (0 with no observations)."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """Sample variance (n − 1 denominator); 0 below two observations."""
        if self.n < 2:
            return 0.0
        return max(0.0, (self.total_sq - self.n * self.mean**2) / (self.n - 1))


def _zero_inflated_variance(group: SampleMoments, nonzero_mean: float, nonzero_sq: float) -> float:
    """Variance of one person's outcome, at least what a zero-inflated outcome implies.

    The sample variance, or, when larger, p̃·E[V²] − (p̃·E[V])² with p̃ = (k + ½)/(n + 1) the
    shrunk share of non-zero outcomes and E[V], E[V²] the moments of the non-zero values of
    both groups: with few buyers the sample variance of a group is itself very uncertain and
    usually too small.
    """
    p = (group.nonzero + 0.5) / (group.n + 1)
    return max(group.variance, p * nonzero_sq - (p * nonzero_mean) ** 2)


def _welch(
    diff: float,
    a: float,
    b: float,
    n1: int,
    n2: int,
    confidence: float,
    planned_n: int | None,
) -> tuple[float, float, float, tuple[float, float, float]]:
    """Welch t interval and p-value of `diff` with per-group variances of the mean `a`, `b`,
    and the always-valid interval from the same variance: (low, high, p, (seq low, high, p)).
    A group of one gets no finite interval; no variance at all collapses the interval."""
    if min(n1, n2) < 2:
        return -math.inf, math.inf, 1.0, (-math.inf, math.inf, 1.0)
    se = math.sqrt(a + b)
    if se == 0:
        p = 1.0 if diff == 0 else 0.0
        return diff, diff, p, (diff, diff, p)
    df_denom = (a * a / (n1 - 1) if a > 0 else 0.0) + (b * b / (n2 - 1) if b > 0 else 0.0)
    df = (a + b) ** 2 / df_denom
    crit = _t_quantile(0.5 + confidence / 2.0, df)
    seq = sequential_interval(diff, a + b, n=n1 + n2, planned_n=planned_n, confidence=confidence)
    return diff - crit * se, diff + crit * se, _t_two_sided_p(diff / se, df), seq


def mean_lift(
    treated: Sequence[float] | np.ndarray | SampleMoments,
    holdout: Sequence[float] | np.ndarray | SampleMoments,
    *,
    confidence: float = 0.95,
    metric: str = "revenue_per_person",
    planned_n: int | None = None,
) -> LiftEstimate:
    """Difference of two means (e.g. revenue per person) with a zero-inflation-aware Welch
    interval; the p-value comes from the same t statistic.

    Each group's variance is at least what its (shrunk) share of non-zero outcomes and the
    pooled non-zero values imply (see `_zero_inflated_variance`): revenue is mostly zeros with
    a few skewed orders, and the plain Welch interval covers the truth far less than 95 % of
    the time when a group has only a handful of buyers. Outcomes with no zeros get the plain
    Welch interval. Groups under 100 people or with fewer than 10 non-zero outcomes are flagged
    as small samples; a group of one gets no finite interval. When nobody has a non-zero
    outcome, the interval collapses to 0. Groups are values or their `SampleMoments`.
    """
    t = treated if isinstance(treated, SampleMoments) else SampleMoments.of(treated)
    h = holdout if isinstance(holdout, SampleMoments) else SampleMoments.of(holdout)
    if t.n == 0:
        raise ValueError("the treated group is empty; lift needs people in both groups")
    if h.n == 0:
        raise ValueError("the holdout group is empty; lift needs people in both groups")
    _z(confidence)  # validates the level
    n1, n2 = t.n, h.n
    m1, m2 = t.mean, h.mean
    diff = m1 - m2
    a, b = t.variance, h.variance
    buyers = t.nonzero + h.nonzero
    if buyers and buyers < n1 + n2:  # zero-inflated: floor the variances
        nz_mean, nz_sq = (t.total + h.total) / buyers, (t.total_sq + h.total_sq) / buyers
        a = _zero_inflated_variance(t, nz_mean, nz_sq)
        b = _zero_inflated_variance(h, nz_mean, nz_sq)
    a, b = a / n1, b / n2
    low, high, p_value, seq = _welch(diff, a, b, n1, n2, confidence, planned_n)

    fewest = min(t.nonzero, h.nonzero)
    small = min(n1, n2) < _MIN_GROUP_N or fewest < _MIN_EXPECTED_SUCCESSES
    note = _note(metric, diff, low, high, confidence, _fmt_num)
    if small:
        note += _small_note(
            f"treated n={n1}, holdout n={n2}, fewest non-zero outcomes in a group {fewest}"
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
        method=(
            "Welch t with zero-inflation floor on the group variances; p-value from the same t"
        ),
        sequential_low=seq[0],
        sequential_high=seq[1],
        sequential_p_value=seq[2],
    )


class PairedMoments(BaseModel):
    """Moments of an outcome y and a pre-period covariate x in one group, gathered in one pass."""

    n: int = 0
    """Observations."""
    sy: float = 0.0
    """Sum of y."""
    syy: float = 0.0
    """Sum of y²."""
    sx: float = 0.0
    """Sum of x."""
    sxx: float = 0.0
    """Sum of x²."""
    sxy: float = 0.0
    """Sum of x·y."""

    def add(self, y: float, x: float) -> None:
        """Count one observation."""
        self.n += 1
        self.sy += y
        self.syy += y * y
        self.sx += x
        self.sxx += x * x
        self.sxy += x * y

    def _cov(self, a: float, b: float, ab: float) -> float:
        return (ab - a * b / self.n) / (self.n - 1) if self.n > 1 else 0.0

    @property
    def var_y(self) -> float:
        """Sample variance of y."""
        return max(0.0, self._cov(self.sy, self.sy, self.syy))

    @property
    def var_x(self) -> float:
        """Sample variance of x."""
        return max(0.0, self._cov(self.sx, self.sx, self.sxx))

    @property
    def cov_xy(self) -> float:
        """Sample covariance of x and y."""
        return self._cov(self.sx, self.sy, self.sxy)


def cuped_lift(
    treated: PairedMoments,
    holdout: PairedMoments,
    *,
    confidence: float = 0.95,
    metric: str = "outcome",
    covariate: str = "covariate",
    planned_n: int | None = None,
) -> LiftEstimate:
    """Difference of means adjusted for a pre-period covariate (CUPED, Deng et al. 2013).

    y' = y − θ·(x − x̄) with θ the pooled within-group slope of y on x; the covariate was fixed
    before treatment, so the adjusted difference estimates the same effect with less variance
    when x predicts y. Welch interval and p-value on the adjusted values, always-valid interval
    from the same variance. No zero-inflation floor (adjusted values are not zero-inflated):
    use it on large groups; groups under 100 are flagged.
    """
    if treated.n == 0 or holdout.n == 0:
        raise ValueError("both groups need people for a lift")
    _z(confidence)
    n1, n2 = treated.n, holdout.n
    pooled_var_x = (treated.var_x * (n1 - 1) + holdout.var_x * (n2 - 1)) / max(1, n1 + n2 - 2)
    pooled_cov = (treated.cov_xy * (n1 - 1) + holdout.cov_xy * (n2 - 1)) / max(1, n1 + n2 - 2)
    theta = pooled_cov / pooled_var_x if pooled_var_x > 0 else 0.0
    x_all = (treated.sx + holdout.sx) / (n1 + n2)
    m1 = treated.sy / n1 - theta * (treated.sx / n1 - x_all)
    m2 = holdout.sy / n2 - theta * (holdout.sx / n2 - x_all)
    diff = m1 - m2

    def adjusted_var(g: PairedMoments) -> float:
        return max(0.0, g.var_y - 2 * theta * g.cov_xy + theta * theta * g.var_x)

    a, b = adjusted_var(treated) / n1, adjusted_var(holdout) / n2
    raw = treated.var_y / n1 + holdout.var_y / n2
    low, high, p_value, seq = _welch(diff, a, b, n1, n2, confidence, planned_n)
    small = min(n1, n2) < _MIN_GROUP_N
    narrower = 1 - math.sqrt((a + b) / raw) if raw > 0 else 0.0
    note = _note(f"{metric} (CUPED on {covariate})", diff, low, high, confidence, _fmt_num)
    note += f" The covariate narrows the interval by {narrower:.1%}."
    if small:
        note += _small_note(f"treated n={n1}, holdout n={n2}")
    return LiftEstimate(
        metric=f"{metric} (CUPED on {covariate})",
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
        method=f"CUPED (theta={theta:.4g} on {covariate}) + Welch t; p-value from the same t",
        sequential_low=seq[0],
        sequential_high=seq[1],
        sequential_p_value=seq[2],
    )


class PolicyValue(BaseModel):
    """Off-policy estimate of a policy's value (mean reward per person) from logged choices."""

    estimator: str
    """`IPS` (inverse propensity scoring) or `SNIPS` (self-normalized IPS)."""
    n: int
    """Logged decisions used."""
    estimate: float
    """Estimated mean reward per person under the evaluated policy."""
    ci_low: float
    """Lower end of the normal-approximation interval."""
    ci_high: float
    """Upper end of the interval."""
    effective_n: float
    """Kish effective sample size of the importance weights: far below n means few logged
    choices resemble the policy, and the estimate leans on them."""


def off_policy_value(
    rewards: Sequence[float] | np.ndarray,
    logged_propensity: Sequence[float] | np.ndarray,
    target_probability: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
) -> tuple[PolicyValue, PolicyValue]:
    """IPS and SNIPS estimates of a new policy's value on logs of an old one.

    Per logged decision: the reward, the probability the logging policy had of choosing the
    logged arm (stored on every outbox message), and the probability the evaluated policy
    would choose that same arm. IPS is unbiased when every arm the new policy may choose had
    a positive logging probability; SNIPS divides by the sum of the weights instead of n, a
    little biased but far less variable. Intervals: normal approximation (delta method for
    SNIPS).
    """
    r = np.asarray(rewards, dtype=float)
    p = np.asarray(logged_propensity, dtype=float)
    q = np.asarray(target_probability, dtype=float)
    if not r.size == p.size == q.size:
        raise ValueError("rewards, logged propensities and target probabilities differ in length")
    if r.size < 2:
        raise ValueError("off-policy evaluation needs at least two logged decisions")
    if (p <= 0).any() or (p > 1).any():
        raise ValueError(
            "logged propensities must be in (0, 1]; a 0 means the arm was never chosen"
        )
    if (q < 0).any() or (q > 1).any():
        raise ValueError("target probabilities must be in [0, 1]")
    z = _z(confidence)
    w = q / p
    n = r.size
    ess = float(w.sum() ** 2 / (w * w).sum()) if w.any() else 0.0
    wr = w * r
    ips = float(wr.mean())
    ips_se = float(wr.std(ddof=1)) / math.sqrt(n)
    mean_w = float(w.mean())
    snips = float(wr.sum() / w.sum()) if w.sum() > 0 else 0.0
    snips_se = (
        float((w * (r - snips)).std(ddof=1)) / mean_w / math.sqrt(n) if mean_w > 0 else math.inf
    )
    return (
        PolicyValue(
            estimator="IPS",
            n=n,
            estimate=ips,
            ci_low=ips - z * ips_se,
            ci_high=ips + z * ips_se,
            effective_n=ess,
        ),
        PolicyValue(
            estimator="SNIPS",
            n=n,
            estimate=snips,
            ci_low=snips - z * snips_se,
            ci_high=snips + z * snips_se,
            effective_n=ess,
        ),
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
