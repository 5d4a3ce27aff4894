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
    # outcomes came back through the production paths: tracking links, pixel, Order Completed
    # (holdout purchases are organic only: with a few hundred held out there may be none)
    assert r["conversions_treated"] > 0
    steps = r["arms_by_step"]
    assert sum(a["clicked"] for a in steps) > 0 and sum(a["opened"] for a in steps) > 0
    assert r["skipped"].get("condition_not_met", 0) > 0  # step 2 skips who bought after step 1
    # sent messages were written by the file sink
    sent_dir = settings.data_dir / "demo" / "sent"
    assert (
        len(list(sent_dir.rglob("*.eml"))) + len(list(sent_dir.rglob("*.json")))
        == r["messages_sent"]
    )


def test_the_same_demo_runs_against_an_openai_compatible_endpoint(
    settings: Settings, tmp_path: Path
) -> None:
    from tests.support.marketing_llm import MarketingLLM
    from tests.support.openai_server import OpenAIServer

    report = tmp_path / "demo.json"
    with OpenAIServer(MarketingLLM()) as server:
        out = run_cli(
            settings,
            "demo",
            "--report",
            str(report),
            "--customers",
            "1500",
            env={
                "OPENAI_API_KEY": "sk-local",
                "OPENAI_BASE_URL": server.base_url,
                "AUTOCMO_LLM_MODEL": "local-test-model",
            },
        )
        tasks = [r["response_format"]["json_schema"]["name"] for r in server.requests]
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    r = json.loads(report.read_text())
    assert r["engine"] == "openai" and r["model"] == "local-test-model"
    assert tasks[:2] == ["parse_brief", "draft_plan"] and tasks.count("write_variants") == 2
    assert r["llm_calls"] == len(tasks)
    assert r["llm_tokens"]["prompt"] > 0
    assert r["messages_sent"] > 0 and r["lift"]["estimate"] is not None


def test_the_demo_completes_against_a_wrong_malformed_and_rate_limited_endpoint(
    settings: Settings, tmp_path: Path
) -> None:
    """Schema-valid but wrong plans (a filter value that is not a number), broken JSON every
    fourth reply and a 429 every fifth: the demo completes on the production path, and the
    report and summary say which steps the offline engine did."""
    from tests.support.lesser_llm import FlakyServer
    from tests.support.marketing_llm import MarketingLLM
    from tests.support.openai_server import OpenAIServer

    flaky = FlakyServer(MarketingLLM(), malformed_every=4, limit_every=5, wrong_plans=True)
    report = tmp_path / "demo.json"
    with OpenAIServer(flaky) as server:
        out = run_cli(
            settings,
            "demo",
            "--report",
            str(report),
            "--customers",
            "1500",
            env={
                "OPENAI_API_KEY": "sk-local",
                "OPENAI_BASE_URL": server.base_url,
                "AUTOCMO_LLM_MODEL": "gpt-4o-mini",
            },
        )
        requests = len(server.requests)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    assert flaky.malformed >= 1 and flaky.limited >= 1
    r = json.loads(report.read_text())
    assert r["engine"] == "openai"
    fell = [f["task"] for f in r["llm_fallbacks"]]
    assert "draft_plan" in fell  # every plan it drafted was wrong: the offline engine planned
    assert "parse_brief" not in fell  # one malformed reply is corrected, not a fallback
    assert r["llm_spend"]["fallbacks"] == fell
    assert any("offline engine did this step" in a for a in r["plan"]["assumptions"])
    assert r["plan"]["audiences"][0]["filters"] != [
        {"feature": "recency_days", "op": "lte", "value": "soon"}
    ]
    assert r["messages_sent"] > 0
    # tokens were counted over every attempt, and priced
    assert r["llm_spend"]["prompt_tokens"] > 0 and r["llm_spend"]["cost_usd"] > 0
    assert requests > r["llm_calls"]  # retries happened
    assert "steps the offline engine did because the LLM could not: draft_plan" in " ".join(
        out.stdout.split()
    )
