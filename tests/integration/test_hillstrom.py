"""The measurement module reproduces the published Hillstrom figures on the real file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.hillstrom import analyse, main
from core.settings import Settings
from tests.integration.conftest import run_cli


@pytest.mark.integration
def test_hillstrom_reproduces_published_figures(shared_data: Path) -> None:
    report = analyse(shared_data / "hillstrom" / "hillstrom.csv")
    sizes = {name: arm.n for name, arm in report.arms.items()}
    assert sizes == {"Mens E-Mail": 21307, "Womens E-Mail": 21387, "No E-Mail": 21306}
    assert report.total.n == 64000
    assert round(report.total.visit_rate * 100, 2) == 14.68
    assert round(report.total.conversion_rate * 100, 3) == 0.903
    assert round(report.total.spend_per_customer, 2) == 1.05

    for arm in ("Mens E-Mail", "Womens E-Mail"):
        visit, conversion, spend = report.lifts[arm]
        assert (visit.metric, conversion.metric, spend.metric) == (
            "visit",
            "conversion",
            "spend_per_customer",
        )
        assert visit.estimate > 0 and visit.ci_low > 0, visit.note
        assert not visit.small_sample
        assert visit.ci_low < visit.estimate < visit.ci_high
        assert conversion.ci_low > 0, conversion.note
    # Mens e-mail drove more visits than Womens (published: +7.7 pp vs +4.5 pp).
    assert report.lifts["Mens E-Mail"][0].estimate == pytest.approx(0.0766, abs=5e-4)
    assert report.lifts["Womens E-Mail"][0].estimate == pytest.approx(0.0452, abs=5e-4)


@pytest.mark.integration
def test_hillstrom_cli_prints_the_report(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(shared_data / "hillstrom" / "hillstrom.csv")]) == 0
    out = capsys.readouterr().out
    assert "21,307" in out and "14.68%" in out and "0.903%" in out
    assert "Mens E-Mail    visit" in out


def test_hillstrom_cli_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(tmp_path / "missing.csv")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.integration
def test_measure_command_on_hillstrom(shared_data: Path, settings: Settings) -> None:
    path = shared_data / "hillstrom" / "hillstrom.csv"
    args = ["measure", str(path), "--group-col", "segment", "--control", "No E-Mail"]
    out = run_cli(
        settings,
        *args,
        "--metric",
        "conversion",
        "--metric",
        "visit",
        "--metric",
        "spend",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["rows"] == 64000
    lifts = {(x["group"], m): x for m, xs in report["lifts"].items() for x in xs}
    mens, womens = lifts["Mens E-Mail", "conversion"], lifts["Womens E-Mail", "conversion"]
    assert mens["kind"] == "rate" and lifts["Mens E-Mail", "spend"]["kind"] == "mean"
    # Issue 8: Mens +0.681 pp [0.50, 0.86], Womens +0.311 pp [0.150, 0.47]; spend +$0.77 / +$0.42
    e = mens["estimate"]
    assert (round(e["estimate"] * 100, 3), round(e["ci_low"] * 100, 2)) == (0.681, 0.50)
    assert round(e["ci_high"] * 100, 2) == 0.86
    e = womens["estimate"]
    assert (round(e["estimate"] * 100, 3), round(e["ci_low"] * 100, 3)) == (0.311, 0.150)
    assert round(e["ci_high"] * 100, 2) == 0.47
    assert round(lifts["Mens E-Mail", "spend"]["estimate"]["estimate"], 2) == 0.77
    assert round(lifts["Womens E-Mail", "spend"]["estimate"]["estimate"], 2) == 0.42
    for lift in lifts.values():
        est = lift["estimate"]
        assert est["sequential_low"] < est["ci_low"] and not lift["flags"]

    text = run_cli(settings, *args, "--metric", "conversion")
    assert text.returncode == 0 and "Mens E-Mail" in text.stdout and "always-valid" in text.stdout
    bad = run_cli(settings, *args, "--metric", "revenue")
    assert bad.returncode == 2 and "no column 'revenue'" in bad.stderr
