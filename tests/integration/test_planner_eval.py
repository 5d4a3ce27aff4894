"""`autocmo eval --planner`: the briefs dataset, the offline gates, and the LLM engine against
the local OpenAI-compatible server."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from core.settings import Settings
from evals.planner_eval import load_planner_cases, run_planner_eval, sample_catalog
from evals.runner import DATASETS_DIR
from tests.integration.conftest import run_cli
from tests.support.lesser_llm import LesserServer, task_of
from tests.support.marketing_llm import MarketingLLM
from tests.support.openai_server import OpenAIServer
from tests.support.planner_oracle import PlannerOracle
from tools.llm import LLMClient

pytestmark = pytest.mark.integration

CASES = load_planner_cases(DATASETS_DIR / "planner_briefs.jsonl")


def test_dataset_has_120_briefs_in_both_languages_plain_and_adversarial() -> None:
    assert len(CASES) >= 120
    assert len({c.id for c in CASES}) == len(CASES)
    langs = Counter(c.lang for c in CASES)
    assert langs["en"] >= 60 and langs["de"] >= 50
    tags = Counter(t for c in CASES for t in c.tags)
    for tag in ("plain", "typo", "odd", "vague", "conflict", "injection"):
        assert tags[tag] >= 5, tag
    assert sum(bool(c.expect.get("refusal")) for c in CASES) >= 10
    assert sum(bool(c.expect.get("questions")) for c in CASES) >= 20


def test_offline_planner_eval_prints_the_table_and_meets_its_gates(settings: Settings) -> None:
    out = settings.data_dir / "eval"
    res = run_cli(settings, "eval", "--planner", "--report", str(out), timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "planner eval (offline engine" in res.stdout
    for word in ("goal", "filters", "offer_kind", "delays", "questions", "refusal", "all de"):
        assert word in res.stdout
    report = json.loads((out / "planner.json").read_text())
    assert report["engine"] == "offline" and report["cases"] == len(CASES)
    assert report["failures"] == []
    # honest: the offline rules miss things, and the report lists them brief by brief
    assert 0.5 < report["accuracy"]["goal"] < 1.0
    assert report["misses"]
    assert report["refusal"]["recall"] >= 0.9


@pytest.mark.parametrize("server_modes", [None, {"tools"}, {"prompt"}])
def test_llm_engine_is_scored_with_the_briefs_as_delimited_data(
    settings: Settings, server_modes: set[str] | None
) -> None:
    """On a full OpenAI-compatible server, and on servers that only take tool calls or only
    plain prompts (no json_schema, no JSON mode) and wrap their JSON in prose."""
    oracle = PlannerOracle(CASES)
    responder = (
        oracle if server_modes is None else LesserServer(oracle, modes=server_modes, prose=True)
    )
    with OpenAIServer(responder) as server:
        env = {"OPENAI_API_KEY": "test", "OPENAI_BASE_URL": server.base_url}
        out = settings.data_dir / "eval-llm"
        res = run_cli(settings, "eval", "--planner", "--report", str(out), env=env, timeout=600)
        requests = list(server.requests)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "planner eval (openai engine" in res.stdout
    report = json.loads((out / "planner.json").read_text())
    assert report["engine"] == "openai" and report["fallbacks"] == 0
    assert report["accuracy"]["goal"] > 0.9
    # briefs reach the model only inside the user message, never in the system prompt
    parse = [r for r in requests if task_of(r) == "parse_brief"]
    assert len(parse) >= 100
    for r in parse:
        system, user = r["messages"][0]["content"], r["messages"][1]["content"]
        assert r["messages"][0]["role"] == "system" and r["messages"][1]["role"] == "user"
        assert "untrusted data" in user
        assert not any(c.brief in system for c in CASES)


def test_a_model_that_answers_one_plan_for_every_brief_fails_the_gates(
    settings: Settings,
) -> None:
    with OpenAIServer(MarketingLLM()) as server:
        llm = LLMClient(
            settings.model_copy(
                update={"openai_api_key": "test", "openai_base_url": server.base_url}
            ),
            retry_wait_s=0,
        )
        try:
            report = run_planner_eval(llm, cases=CASES, products=sample_catalog())
        finally:
            llm.close()
    assert report.engine == "openai"
    assert not report.passed
    assert any(f.startswith("planner goal accuracy") for f in report.failures)
    assert report.fields["goal"].accuracy < 0.5
