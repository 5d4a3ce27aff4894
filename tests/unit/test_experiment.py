"""Measuring a finished experiment from a CSV: figures, rates vs means, and input errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tools.experiment import ExperimentInputError, format_report, measure_csv
from tools.statistics import mean_lift, proportion_lift


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.csv"
    path.write_text(text)
    return path


def _rows(group: str, n: int, converted: int, spend: float) -> list[str]:
    return [f"{group},{int(i < converted)},{spend if i < converted else 0}" for i in range(n)]


def test_rates_and_means_match_the_statistics_functions(tmp_path: Path) -> None:
    lines = ["arm,bought,spend"]
    lines += _rows("control", 400, 12, 50.0) + _rows("email", 500, 40, 45.0)
    report = measure_csv(
        _write(tmp_path, "\n".join(lines) + "\n"),
        group_col="arm",
        control="control",
        metrics=["bought", "spend"],
    )
    assert report.rows == 900
    assert [(g.group, g.n) for g in report.groups] == [("control", 400), ("email", 500)]
    bought, spend = report.lifts["bought"][0], report.lifts["spend"][0]
    assert (bought.kind, spend.kind) == ("rate", "mean")
    assert bought.estimate == proportion_lift(40, 500, 12, 400, metric="bought")
    expected = mean_lift([45.0] * 40 + [0.0] * 460, [50.0] * 12 + [0.0] * 388, metric="spend")
    assert spend.estimate.ci_low == pytest.approx(expected.ci_low)
    assert spend.estimate.ci_high == pytest.approx(expected.ci_high)
    assert spend.estimate.p_value == pytest.approx(expected.p_value)
    assert bought.relative == pytest.approx((40 / 500 - 12 / 400) / (12 / 400))
    text = format_report(report)
    assert "always-valid" in text and "email" in text and "pp" in text


def test_a_group_of_one_is_flagged_and_gets_no_interval(tmp_path: Path) -> None:
    lines = ["g,spend", "solo,120.5"] + [f"ctl,{i % 7}" for i in range(200)]
    report = measure_csv(
        _write(tmp_path, "\n".join(lines)), group_col="g", control="ctl", metrics=["spend"]
    )
    lift = report.lifts["spend"][0]
    assert lift.flags == ["small_sample", "no_finite_interval"]
    assert math.isinf(lift.estimate.ci_low)
    assert "-inf" in format_report(report)


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("g,y\na,1\nb,x\n", {}, "line 3, column 'y': 'x' is not a number"),
        ("g,y\na,1\nb,1,2\n", {}, "line 3: 3 fields where the header has 2"),
        ("g,y\na,1\n,0\n", {}, "line 3, column 'g': empty group"),
        ("g,y\na,1\nb,nan\n", {}, "line 3, column 'y': 'nan' is not finite"),
        ("g,y\na,1\nb,0\n", {"metrics": ["spend"]}, "no column 'spend'; the header has g, y"),
        ("g,y\na,1\nb,0\n", {"control": "c"}, "control group 'c' is not in column 'g'"),
        ("g,y\na,1\na,0\n", {}, "only the control group"),
        ("", {}, "empty"),
    ],
)
def test_bad_input_names_line_and_column(
    tmp_path: Path, text: str, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"group_col": "g", "control": "a", "metrics": ["y"], **kwargs}
    with pytest.raises(ExperimentInputError, match=message.replace("(", r"\(")):
        measure_csv(_write(tmp_path, text), **args)  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExperimentInputError, match="no such file"):
        measure_csv(tmp_path / "nope.csv", group_col="g", control="a", metrics=["y"])


def test_covariate_adds_a_cuped_lift_and_bad_values_name_the_line(tmp_path: Path) -> None:
    lines = ["g,y,past"]
    for i in range(300):
        past = float(i % 50)
        lines.append(f"ctl,{past * 2 + (i % 3)},{past}")
        lines.append(f"new,{past * 2 + (i % 3) + 4},{past}")
    path = _write(tmp_path, "\n".join(lines))
    report = measure_csv(path, group_col="g", control="ctl", metrics=["y"], covariate="past")
    lift = report.lifts["y"][0]
    assert lift.adjusted is not None and lift.adjusted.metric == "y (CUPED on past)"
    assert lift.adjusted.estimate == pytest.approx(4.0)
    width = lift.estimate.ci_high - lift.estimate.ci_low
    assert lift.adjusted.ci_high - lift.adjusted.ci_low < width / 5
    assert "CUPED on past" in format_report(report)
    assert (
        measure_csv(path, group_col="g", control="ctl", metrics=["y"]).lifts["y"][0].adjusted
        is None
    )
    with pytest.raises(ExperimentInputError, match="line 2, column 'past': 'high'"):
        measure_csv(
            _write(tmp_path, "g,y,past\nctl,1,high\n"),
            group_col="g",
            control="ctl",
            metrics=["y"],
            covariate="past",
        )
