"""The campaign graph on the OpenAI engine (the real `openai` client against a local
OpenAI-compatible server): plans and copy come from the model, guardrails stop bad copy,
and token usage is charged to the campaign."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from core import campaigns as repo
from core.db import FindingRow, LLMUsageRow, MessageRow
from core.settings import Settings
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps, build_deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded
from tests.support.marketing_llm import MarketingLLM
from tests.support.openai_server import OpenAIServer, schema_name


def _llm_deps(settings: Settings, base_url: str) -> Deps:
    seeded(settings, with_rules=False).db.dispose()
    s = settings.model_copy(
        update={"openai_api_key": "sk-test", "openai_base_url": base_url, "llm_model": "test-model"}
    )
    deps = build_deps(s)
    deps.clock = lambda: NOW
    return deps


def test_llm_engine_runs_the_graph_and_records_tokens(settings: Settings) -> None:
    llm = MarketingLLM()
    with OpenAIServer(llm) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
        assert res.status == "awaiting_approval", res
        assert res.plan and res.plan.send_hour_local == 11  # the model's plan, validated
        assert "LLM assumption: start now." in res.assumptions
        tasks = [r["response_format"]["json_schema"]["name"] for r in server.requests]
        # one judge call per variant (2 steps x 2 arms), not per person
        judge = ["judge_copy"] * 4
        # each step's arms are written again in each language of the kit (de, fr, ja, pt)
        langs = [f"write_variants_{lang}" for lang in ("de", "fr", "ja", "pt")]
        writes = ["write_variants", *langs] * 2
        assert tasks == ["parse_brief", "draft_plan", *writes, *judge]
        # brand rules retrieved from Chroma are in the writer's prompt
        assert "STOP" in llm.write_calls[1]
        # the brief reaches the model only as delimited data
        assert "brief" in server.requests[0]["messages"][1]["content"]
    with deps.db.session() as s:
        usage = s.scalars(
            select(LLMUsageRow).where(LLMUsageRow.campaign_id == res.campaign_id)
        ).all()
    assert len(usage) == 16 and all(u.engine == "openai" and u.prompt_tokens > 0 for u in usage)


def test_blocked_copy_goes_back_to_the_writer_and_never_reaches_the_outbox(
    settings: Settings,
) -> None:
    llm = MarketingLLM(bad_copy="first")
    with OpenAIServer(llm) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
        # the e-mail step was rewritten once, with the findings in the prompt
        email_prompts = [p for p in llm.write_calls if "one email message" in p]
        assert len(email_prompts) == 2
        assert "claims" in email_prompts[1] and "previous draft was blocked" in email_prompts[1]
        assert all(v.status == "active" for v in res.variants)
        decide(deps, res.approval_id or "", approved=True, decided_by="qa")
    with deps.db.session() as s:
        bodies = [
            m.body
            for m in s.scalars(
                select(MessageRow).where(
                    MessageRow.campaign_id == res.campaign_id, MessageRow.status == "scheduled"
                )
            )
        ]
        findings = s.scalars(
            select(FindingRow).where(
                FindingRow.campaign_id == res.campaign_id, FindingRow.severity == "block"
            )
        ).all()
    assert bodies
    assert not any("Guaranteed" in b or "risk-free" in b for b in bodies)
    assert {f.rule_id.split(".")[0] for f in findings} >= {"claims"}


def test_copy_that_stays_bad_is_blocked_and_flagged_for_the_human(settings: Settings) -> None:
    llm = MarketingLLM(bad_copy="always")
    with OpenAIServer(llm) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
        blocked = [v for v in res.variants if v.status == "blocked"]
        assert [v.arm for v in blocked] == ["A"]
        assert any("still break blocking rules" in r for r in res.approval_reasons)
        decide(deps, res.approval_id or "", approved=True, decided_by="qa")
    with deps.db.session() as s:
        msgs = s.scalars(select(MessageRow).where(MessageRow.campaign_id == res.campaign_id)).all()
    assert msgs
    assert not any(m.variant_id == blocked[0].id for m in msgs)
    assert not any("Guaranteed" in m.body for m in msgs)


def test_a_plan_on_channels_the_brief_did_not_allow_becomes_a_question(
    settings: Settings,
) -> None:
    class PushOnly(MarketingLLM):
        def __call__(self, request: dict[str, Any]) -> str:
            reply = super().__call__(request)
            if schema_name(request) == "draft_plan":
                plan = json.loads(reply)
                for step in plan["journey"]:
                    step["channel"] = "push"
                reply = json.dumps(plan)
            return reply

    with OpenAIServer(PushOnly()) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
    assert res.status == "needs_input"
    assert "channels" in res.questions[0]
    assert repo.list_approvals(deps.db) == []


class _WrongFilterValue(MarketingLLM):
    """Drafts a schema-valid plan whose filter value is not a number (`bad_plans` times)."""

    def __init__(self, bad_plans: int) -> None:
        super().__init__()
        self.bad_plans = bad_plans
        self.plan_requests: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> str:
        reply = super().__call__(request)
        if schema_name(request) == "draft_plan":
            self.plan_requests.append(request)
            if len(self.plan_requests) <= self.bad_plans:
                plan = json.loads(reply)
                plan["audiences"][0]["filters"] = [
                    {"feature": "recency_days", "op": "lte", "value": "ninety days"}
                ]
                reply = json.dumps(plan)
        return reply


def test_a_plan_with_a_wrong_filter_value_goes_back_to_the_model_with_the_errors(
    settings: Settings,
) -> None:
    llm = _WrongFilterValue(bad_plans=1)
    with OpenAIServer(llm) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
    assert res.status == "awaiting_approval", res
    assert len(llm.plan_requests) == 2
    retry = llm.plan_requests[1]["messages"]
    assert retry[-2]["role"] == "assistant" and "ninety days" in retry[-2]["content"]
    assert retry[-1]["role"] == "user" and "recency_days compares numbers" in retry[-1]["content"]
    assert res.plan and res.plan.send_hour_local == 11  # the model's corrected plan
    assert not any("offline engine" in a for a in res.assumptions)


def test_a_model_that_keeps_drafting_wrong_values_hands_the_step_to_the_offline_engine(
    settings: Settings,
) -> None:
    llm = _WrongFilterValue(bad_plans=99)
    with OpenAIServer(llm) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF)
    assert res.status == "awaiting_approval", res
    assert len(llm.plan_requests) == 2  # bounded: one correction, then the offline engine
    assert res.plan is not None
    assert res.plan.rationale.startswith("Recipe for winback")  # the offline recipe
    filters = [(f.feature, f.op, f.value) for f in res.plan.audiences[0].filters]
    assert ("recency_days", "gte", 90) in filters
    (note,) = [a for a in res.assumptions if "offline engine" in a]
    assert "draft_plan" in note and "recency_days compares numbers" in note
    assert res.audience_size and res.audience_size > 0


def test_consent_is_refused_on_the_llm_engine_too(settings: Settings) -> None:
    with OpenAIServer(MarketingLLM()) as server:
        deps = _llm_deps(settings, server.base_url)
        res = submit_brief(deps, WINBACK_BRIEF + " Also e-mail the people who opted out.")
    (refusal,) = [a for a in res.assumptions if a.startswith("Refused")]
    assert "consent" in refusal
    assert res.plan is not None and {s.channel for s in res.plan.journey} <= {"email", "sms"}
