"""Opt-in per-person LLM copy: the real `openai` client against a local OpenAI-compatible
server writes each person's message until the campaign's cost ceiling, then the templates take
over; copy the guardrails block falls back too, and the activation report says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from agents.activation import schedule_campaign
from agents.content import write_variants
from core import campaigns as repo
from core.catalog import purchase_history
from core.db import DecisionRow, MessageRow
from core.models import Channel, Goal, JourneyStep, Objective, Offer, PersonalCopy, Plan
from core.settings import LLMPrice, Settings
from graphs.runtime import Deps
from tests.integration.conftest import NOW, seeded
from tests.support.marketing_llm import copy_under_review
from tests.support.openai_server import OpenAIServer, schema_name
from tools.audience import compute_features
from tools.llm import LLMClient

MARK = "Written for you"


class PersonalLLM:
    """Answers `write_personal` with a message naming the person and product; with `pushy`,
    every second answer has a banned phrase (the guardrails must block it)."""

    def __init__(self, *, pushy: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.pushy = pushy

    def __call__(self, request: dict[str, Any]) -> str:
        assert schema_name(request) == "write_personal", schema_name(request)
        data = copy_under_review(request)
        person = data["person"]
        self.calls.append(person)
        name = person["first_name"] or "there"
        body = (
            f"Hi {name},\n\n{MARK}: the {person['product_name']} would suit your trips. "
            f"{person['offer_text']} with code {person['code']}. {person['product_url']}"
        )
        if self.pushy and len(self.calls) % 2 == 0:
            body += " Act now!"
        return json.dumps({"subject": f"{name}, a pick for you", "body": body})


@pytest.fixture
def shop(settings: Settings) -> Iterator[Deps]:
    deps = seeded(settings, customers=300, with_rules=False)
    yield deps
    deps.db.dispose()


def _launch(shop: Deps, base_url: str, personal: PersonalCopy, *, prices: Any) -> tuple[Any, str]:
    settings = shop.settings.model_copy(
        update={
            "openai_api_key": "sk-test",
            "openai_base_url": base_url,
            "llm_model": "test-model",
            "llm_prices": {m: LLMPrice.model_validate(p) for m, p in prices.items()},
        }
    )
    step = JourneyStep(id="s1", channel=Channel.EMAIL, content_brief="Come back")
    objective = Objective(
        name="vip", goal=Goal.WINBACK, offer=Offer(kind="percent_off", percent=10, code="VIP10")
    )
    plan = Plan(objective=objective, audiences=[], journey=[step], personal_copy=personal)
    cid = repo.create_campaign(shop.db, brand_id=shop.kit.id, brief="vip", engine="openai").id
    variants = write_variants(  # the templates come from the offline engine here
        shop.llm, shop.kit, objective=objective, step=step, rules=[], campaign_id=cid
    )
    treated = sorted(purchase_history(shop.db, as_of=NOW))[:12]
    llm = LLMClient(settings, retry_wait_s=0.01)
    try:
        report = schedule_campaign(
            shop.db,
            settings,
            shop.kit,
            campaign_id=cid,
            plan=plan,
            variants=variants,
            treated=treated,
            start=NOW,
            llm=llm,
        )
    finally:
        llm.close()
    return report, cid


def _bodies(shop: Deps, cid: str) -> list[str]:
    with shop.db.session() as s:
        return [m.body for m in s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid))]


def test_per_person_copy_stops_at_the_ceiling_and_falls_back_to_templates(shop: Deps) -> None:
    writer = PersonalLLM()
    # $1,000 per million tokens: one call (≈ 500 prompt + 60 completion tokens) ≈ $0.56
    with OpenAIServer(writer) as server:
        report, cid = _launch(
            shop,
            server.base_url,
            PersonalCopy(max_cost_usd=2.0),
            prices={"test-model": {"input": 1000.0, "output": 1000.0}},
        )
    p = report.personal_copy
    assert p is not None and p.active
    assert p.stopped_at_ceiling and 1 <= p.written < 12
    assert p.spent_usd <= p.ceiling_usd
    assert p.written == len(writer.calls)
    assert p.fallback.get("cost_ceiling", 0) + p.written == report.scheduled
    bodies = _bodies(shop, cid)
    personal = [b for b in bodies if MARK in b]
    assert len(personal) == p.written
    # every message, personal or not, carries the system footer
    assert len(bodies) == report.scheduled
    assert all(shop.kit.postal_address in b and "/u/" in b for b in bodies)
    with shop.db.session() as s:
        decision = s.scalars(select(DecisionRow).where(DecisionRow.campaign_id == cid)).one()
    assert "stopped at the cost ceiling" in decision.reason
    assert decision.evidence["personal_copy"]["written"] == p.written


def test_blocked_personal_copy_falls_back_and_no_price_means_templates(shop: Deps) -> None:
    writer = PersonalLLM(pushy=True)
    with OpenAIServer(writer) as server:
        report, cid = _launch(
            shop,
            server.base_url,
            PersonalCopy(max_cost_usd=100.0),
            prices={"test-model": {"input": 0.1, "output": 0.1}},
        )
        p = report.personal_copy
        assert p is not None and not p.stopped_at_ceiling
        assert p.written + p.fallback.get("guardrail_block", 0) == report.scheduled
        assert p.written >= 1 and p.fallback.get("guardrail_block", 0) >= 1
        assert all("Act now" not in b for b in _bodies(shop, cid))
        # a model without a price: the ceiling cannot be kept, so no call at all
        calls = len(writer.calls)
        unpriced, _ = _launch(shop, server.base_url, PersonalCopy(max_cost_usd=100.0), prices={})
    assert unpriced.personal_copy is not None and not unpriced.personal_copy.active
    assert "no price for model 'test-model'" in unpriced.personal_copy.reason
    assert len(writer.calls) == calls


def test_high_value_threshold_reads_each_persons_revenue(shop: Deps) -> None:
    """With `min_monetary`, exactly the people whose revenue reaches it get per-person copy:
    activation loads `monetary` for the writer (it skips that query without per-person copy)."""
    treated = sorted(purchase_history(shop.db, as_of=NOW))[:12]
    with shop.db.session() as s:
        revenue = {
            c: f.monetary for c, f in compute_features(s, as_of=NOW, customer_ids=treated).items()
        }
    threshold = sorted(revenue.values())[len(revenue) // 2]
    high = {c for c, m in revenue.items() if m >= threshold}
    assert 0 < len(high) < len(treated)
    writer = PersonalLLM()
    with OpenAIServer(writer) as server:
        report, cid = _launch(
            shop,
            server.base_url,
            PersonalCopy(max_cost_usd=100.0, min_monetary=threshold),
            prices={"test-model": {"input": 0.1, "output": 0.1}},
        )
    p = report.personal_copy
    assert p is not None and p.active
    assert p.written == len(high) and p.fallback.get("not_high_value") == len(treated) - len(high)
    with shop.db.session() as s:
        rows = s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)).all()
    assert {m.customer_id for m in rows if MARK in m.body} == high
