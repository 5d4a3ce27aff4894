"""`autocmo demo` end to end in a new process, on the offline engine."""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import Settings
from tests.integration.conftest import run_cli

REQUIRED = {
    "engine",
    "audience_size",
    "holdout_size",
    "variants",
    "guardrail_findings",
    "approvals",
    "messages_sent",
    "conversions_treated",
    "conversions_holdout",
    "lift",
    "optimizer_revisions",
    "llm_calls",
}


def test_demo_runs_the_whole_loop_and_reports_lift(settings: Settings, tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    out = run_cli(settings, "demo", "--report", str(report), "--customers", "3000")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "offline engine" in out.stdout
    r = json.loads(report.read_text())
    assert set(r) >= REQUIRED
    assert r["engine"] == "offline"
    assert r["audience_size"] > 0 and 0 < r["holdout_size"] < r["audience_size"]
    assert r["messages_sent"] > 0
    assert len(r["variants"]) >= 4
    assert r["approvals"] and r["approvals"][0]["decided_by"].startswith("demo-approver")
    lift = r["lift"]
    assert lift["ci_low"] <= lift["estimate"] <= lift["ci_high"]
    assert (
        lift["estimate"] == lift["treated_rate"] - lift["holdout_rate"]
        or abs(lift["estimate"] - (lift["treated_rate"] - lift["holdout_rate"])) < 1e-9
    )
    assert r["llm_calls"] >= 3  # parse, plan, variants per step (offline engine, counted)
    # sent messages were written by the file sink
    sent_dir = settings.data_dir / "demo" / "sent"
    assert (
        len(list(sent_dir.rglob("*.eml"))) + len(list(sent_dir.rglob("*.json")))
        == r["messages_sent"]
    )
