"""Measure a finished experiment from a CSV: one row per person, a group column, metric columns.

The file is streamed (one pass, constant memory per group and metric): each metric keeps only
the moments a difference of means needs (`tools.statistics.SampleMoments`). A metric whose
values are all 0 or 1 is a rate (Newcombe interval); any other is a mean (zero-inflation-aware
Welch interval). Every non-control group is compared with the control group, with the
fixed-horizon 95 % interval (right for this single look at a finished test) and the always-valid
one (right if the numbers were also watched while the test ran). With a pre-period covariate
(e.g. spend in the year before), each lift is also reported CUPED-adjusted, labelled as such.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from tools.statistics import (
    LiftEstimate,
    PairedMoments,
    SampleMoments,
    cuped_lift,
    mean_lift,
    proportion_lift,
)


class ExperimentInputError(ValueError):
    """The file cannot be measured; the message names the line and column to fix."""


class GroupMetric(BaseModel):
    """One metric in one group."""

    value: float
    """The rate (share of 1s) or the mean."""
    nonzero: int
    """People with a non-zero value (successes, for a rate)."""


class GroupSummary(BaseModel):
    """The size and metric values of one group."""

    group: str
    """The group's value in the group column."""
    n: int
    """People (rows) in the group."""
    metrics: dict[str, GroupMetric]
    """Metric name -> value in this group."""


class Lift(BaseModel):
    """One group against the control on one metric."""

    group: str
    """The compared group."""
    kind: Literal["rate", "mean"]
    """`rate` when the metric is 0/1, otherwise `mean`."""
    relative: float | None
    """Lift as a fraction of the control value; None when the control value is 0."""
    flags: list[str]
    """Reasons not to rely on the estimate, e.g. `small_sample`, `no_finite_interval`."""
    estimate: LiftEstimate
    """The lift with its fixed-horizon and always-valid intervals."""
    adjusted: LiftEstimate | None = None
    """The same lift adjusted for the pre-period covariate (CUPED), when one was given."""


class ExperimentReport(BaseModel):
    """Every group against the control, per metric."""

    file: str
    """The measured file."""
    rows: int
    """Data rows read."""
    group_col: str
    """Column holding the group."""
    covariate: str | None = None
    """Pre-period column the CUPED-adjusted lifts use, if any."""
    control: str
    """The control group's value."""
    confidence: float
    """Confidence level of the intervals."""
    groups: list[GroupSummary]
    """Control first, then the other groups in order of appearance."""
    lifts: dict[str, list[Lift]] = Field(default_factory=dict)
    """Metric name -> one lift per non-control group."""


def _number(raw: str, line: int, column: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ExperimentInputError(
            f"line {line}, column {column!r}: {raw!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise ExperimentInputError(f"line {line}, column {column!r}: {raw!r} is not finite")
    return value


def measure_csv(
    path: Path,
    *,
    group_col: str,
    control: str,
    metrics: Sequence[str],
    covariate: str | None = None,
    confidence: float = 0.95,
) -> ExperimentReport:
    """Read `path` once and compare every group with `control` on each metric (and, with a
    pre-period `covariate` column, CUPED-adjusted as well).

    Raises ExperimentInputError naming the line and column of the first bad value, a missing
    column (with the columns the file has), or a control value absent from the file.
    """
    if not metrics:
        raise ExperimentInputError("give at least one --metric column")
    if not 0 < confidence < 1:
        raise ExperimentInputError(f"confidence must be between 0 and 1, got {confidence}")
    if not path.is_file():
        raise ExperimentInputError(f"{path}: no such file")
    moments: dict[str, dict[str, SampleMoments]] = {}
    paired: dict[str, dict[str, PairedMoments]] = {}
    binary = dict.fromkeys(metrics, True)
    rows = 0
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise ExperimentInputError(f"{path} is empty; it needs a header row")
        names = [h.strip() for h in header]
        wanted = (group_col, *metrics, *([covariate] if covariate else []))
        missing = [c for c in wanted if c not in names]
        if missing:
            raise ExperimentInputError(
                f"{path}: no column {', '.join(repr(m) for m in missing)}; "
                f"the header has {', '.join(names)}"
            )
        gi = names.index(group_col)
        mi = [(m, names.index(m)) for m in metrics]
        ci = names.index(covariate) if covariate else None
        for record in reader:
            line = reader.line_num
            if not record:
                continue
            if len(record) != len(names):
                raise ExperimentInputError(
                    f"line {line}: {len(record)} fields where the header has {len(names)}"
                )
            group = record[gi].strip()
            if not group:
                raise ExperimentInputError(f"line {line}, column {group_col!r}: empty group")
            per_group = moments.get(group)
            if per_group is None:
                per_group = moments[group] = {m: SampleMoments() for m in metrics}
                paired[group] = {m: PairedMoments() for m in metrics}
            x = None if ci is None else _number(record[ci].strip(), line, names[ci])
            for metric, i in mi:
                value = _number(record[i].strip(), line, metric)
                if value not in (0.0, 1.0):
                    binary[metric] = False
                per_group[metric].add(value)
                if x is not None:
                    paired[group][metric].add(value, x)
            rows += 1
    if control not in moments:
        found = ", ".join(repr(g) for g in list(moments)[:20]) or "none"
        raise ExperimentInputError(
            f"control group {control!r} is not in column {group_col!r} (groups found: {found})"
        )
    if len(moments) < 2:
        raise ExperimentInputError(f"only the control group {control!r} is in the file")

    order = [control, *(g for g in moments if g != control)]
    report = ExperimentReport(
        file=str(path),
        rows=rows,
        group_col=group_col,
        covariate=covariate,
        control=control,
        confidence=confidence,
        groups=[
            GroupSummary(
                group=g,
                n=moments[g][metrics[0]].n,
                metrics={
                    m: GroupMetric(value=moments[g][m].mean, nonzero=moments[g][m].nonzero)
                    for m in metrics
                },
            )
            for g in order
        ],
    )
    for metric in metrics:
        ctrl = moments[control][metric]
        lifts: list[Lift] = []
        for group in order[1:]:
            grp = moments[group][metric]
            if binary[metric]:
                est = proportion_lift(
                    grp.nonzero, grp.n, ctrl.nonzero, ctrl.n, confidence=confidence, metric=metric
                )
            else:
                est = mean_lift(grp, ctrl, confidence=confidence, metric=metric)
            flags = ["small_sample"] if est.small_sample else []
            if not math.isfinite(est.ci_low) or not math.isfinite(est.ci_high):
                flags.append("no_finite_interval")
            lifts.append(
                Lift(
                    group=group,
                    kind="rate" if binary[metric] else "mean",
                    relative=est.estimate / est.holdout_value if est.holdout_value else None,
                    flags=flags,
                    estimate=est,
                    adjusted=cuped_lift(
                        paired[group][metric],
                        paired[control][metric],
                        confidence=confidence,
                        metric=metric,
                        covariate=covariate,
                    )
                    if covariate
                    else None,
                )
            )
        report.lifts[metric] = lifts
    return report


def format_report(report: ExperimentReport) -> str:
    """The report as plain text: groups, then each lift with both intervals."""
    level = f"{report.confidence * 100:g} %"
    metrics = list(report.lifts)
    lines = [f"{report.file}: {report.rows:,} rows, control {report.control!r}", ""]
    width = max(len(g.group) for g in report.groups) + 2
    lines.append(f"{'group':<{width}}{'n':>9}" + "".join(f"{m:>14}" for m in metrics))
    for g in report.groups:
        cells = []
        for m in metrics:
            rate = report.lifts[m][0].kind == "rate"
            v = g.metrics[m].value
            cells.append(f"{v:>14.3%}" if rate else f"{v:>14.4f}")
        lines.append(f"{g.group:<{width}}{g.n:>9,}" + "".join(cells))
    lines += [
        "",
        f"lift vs {report.control!r}: {level} interval for this one look, and the always-valid "
        f"{level} interval (holds even if the test was watched while it ran)",
    ]
    for m in metrics:
        for lift in report.lifts[m]:
            e = lift.estimate

            def f(x: float, rate: bool = lift.kind == "rate") -> str:
                if not math.isfinite(x):
                    return "-inf" if x < 0 else "+inf"
                return f"{x * 100:+.3f} pp" if rate else f"{x:+.4f}"

            rel = f" ({lift.relative:+.1%})" if lift.relative is not None else ""
            flags = f"  [{', '.join(lift.flags)}]" if lift.flags else ""
            lines.append(
                f"{lift.group:<{width}}{m:<12} {f(e.estimate)}{rel}  "
                f"CI [{f(e.ci_low)}, {f(e.ci_high)}]  p={e.p_value:.2g}  "
                f"always-valid [{f(e.sequential_low)}, {f(e.sequential_high)}]{flags}"
            )
            if lift.adjusted is not None:
                a = lift.adjusted
                lines.append(
                    f"{'':<{width}}{'':<12} CUPED on {report.covariate}: {f(a.estimate)}  "
                    f"CI [{f(a.ci_low)}, {f(a.ci_high)}]  p={a.p_value:.2g}  "
                    f"always-valid [{f(a.sequential_low)}, {f(a.sequential_high)}]"
                )
    return "\n".join(lines)
