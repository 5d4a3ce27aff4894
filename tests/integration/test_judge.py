"""The LLM judge against a local OpenAI-compatible server: findings of the guardrails' shape,
added on top of the deterministic checks, one call per variant, and nothing offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.review import blocking, review_variant
from brand_guardrails.checker import CopyToCheck
from brand_guardrails.footer import apply_footer
from brand_guardrails.judge import judge
from brand_guardrails.kit import load_brand_kit
from core.models import Channel, Goal, Objective, Offer, Severity, VariantTemplate
from core.settings import Settings
from tests.support.marketing_llm import MarketingLLM
from tests.support.openai_server import OpenAIServer, schema_name
from tools.llm import LLMClient

pytestmark = pytest.mark.integration

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands" / "sample" / "brand.yaml")
OBJECTIVE = Objective(
    name="Win them back", goal=Goal.WINBACK, offer=Offer(kind="percent_off", percent=10, code="C10")
)
GOOD = VariantTemplate(
    id="camp1:s1:A",
    step_id="s1",
    arm="A",
    channel=Channel.EMAIL,
    subject="{{ product_name }} is ready for the trail",
    body="Hi {{ first_name or 'there' }},\n\nThe {{ product_name }} is built for long days "
    "outside. Take {{ offer_text }} with code {{ code }}.\n{{ product_url }}\n\n"
    "The {{ brand_name }} team",
    angle="value",
)
BAD = GOOD.model_copy(
    update={"id": "camp1:s1:B", "arm": "B", "subject": "RE: Guaranteed the best in the world"}
)


def _client(settings: Settings, server: OpenAIServer) -> LLMClient:
    s = settings.model_copy(
        update={"openai_api_key": "sk-test", "openai_base_url": server.base_url}
    )
    return LLMClient(s, retry_wait_s=0.01)


@pytest.fixture
def tone_server() -> Iterator[tuple[OpenAIServer, MarketingLLM]]:
    responder = MarketingLLM(judge="tone")
    with OpenAIServer(responder) as server:
        yield server, responder


def _email(body: str, subject: str = "A warm jacket for cold mornings") -> CopyToCheck:
    text = apply_footer(KIT, Channel.EMAIL, body, "https://northwind.example/u/x")
    return CopyToCheck(channel=Channel.EMAIL, subject=subject, body=text)


def test_judge_finding_has_the_guardrail_shape_and_data_is_delimited(
    settings: Settings, tone_server: tuple[OpenAIServer, MarketingLLM]
) -> None:
    server, responder = tone_server
    llm = _client(settings, server)
    msg = _email("Hurry, this jacket is the one you need.\nhttps://northwind.example/p/ridge2")
    found = judge(llm, KIT, msg, campaign_id="camp1")
    assert len(found) == 1
    f = found[0]
    assert f.rule_id == "judge.tone" and f.severity == Severity.WARN
    assert f.span == "Hurry, this jacket is the one you need." and f.field == "body"
    assert f.explanation.startswith("LLM judge:") and f.suggested_fix
    request = server.requests[0]
    assert schema_name(request) == "judge_copy"
    system, user = (m["content"] for m in request["messages"])
    # kit and copy arrive as delimited, labelled data, never as bare instructions
    assert "brand kit (untrusted data" in system and KIT.voice.description.strip()[:40] in system
    assert "copy to review (untrusted data" in user and "Hurry, this jacket" in user
    assert responder.judge_calls[0]["channel"] == "email"


def test_a_span_not_in_the_copy_is_dropped(settings: Settings) -> None:
    def made_up(_req: dict[str, object]) -> str:
        return (
            '{"findings": [{"rule_id": "judge.claim", "severity": "warn", "span": "cures colds",'
            ' "explanation": "x", "suggested_fix": "y"}]}'
        )

    with OpenAIServer(made_up) as server:
        f = judge(_client(settings, server), KIT, _email("A warm jacket."))[0]
    assert f.span is None and f.field == "message" and f.rule_id == "judge.claim"


def test_judge_pass_never_removes_a_deterministic_block(settings: Settings) -> None:
    deterministic = review_variant(KIT, BAD, OBJECTIVE)
    assert blocking(deterministic)
    with OpenAIServer(MarketingLLM(judge="pass")) as server:
        with_judge = review_variant(KIT, BAD, OBJECTIVE, _client(settings, server))
        assert len(server.requests) == 1  # one call per variant, not per preview person
    assert with_judge == deterministic


def test_judge_adds_findings_on_clean_copy(settings: Settings) -> None:
    assert review_variant(KIT, GOOD, OBJECTIVE) == []
    with OpenAIServer(MarketingLLM(judge="claim")) as server:
        found = review_variant(KIT, GOOD, OBJECTIVE, _client(settings, server))
        assert len(server.requests) == 1
    assert [f.rule_id for f in found] == ["judge.claim"]
    assert blocking(found) and found[0].span == "Hi Alex,"


def test_judge_claim_block_adds_to_deterministic_blocks(settings: Settings) -> None:
    before = {f.rule_id for f in blocking(review_variant(KIT, BAD, OBJECTIVE))}
    with OpenAIServer(MarketingLLM(judge="claim")) as server:
        found = review_variant(KIT, BAD, OBJECTIVE, _client(settings, server))
    assert {f.rule_id for f in blocking(found)} == before | {"judge.claim"}


def test_offline_judge_makes_no_call(settings: Settings) -> None:
    llm = LLMClient(settings)
    assert llm.engine == "offline"
    msg = _email("Hurry, this jacket is the one you need.")
    assert judge(llm, KIT, msg) == []
    assert review_variant(KIT, BAD, OBJECTIVE, llm) == review_variant(KIT, BAD, OBJECTIVE)
    assert llm.calls == 0


@pytest.mark.parametrize("failure", ["malformed", "unavailable"])
def test_a_judge_that_cannot_answer_leaves_a_warning_not_a_crash(
    settings: Settings, failure: str
) -> None:
    with OpenAIServer(lambda _req: "this is not JSON") as server:
        if failure == "unavailable":
            for _ in range(settings.llm_max_attempts):
                server.enqueue(status=503, content="overloaded")
        llm = _client(settings, server)
        found = review_variant(KIT, BAD, OBJECTIVE, llm)
    deterministic = review_variant(KIT, BAD, OBJECTIVE)
    unavailable = [f for f in found if f.rule_id == "judge.unavailable"]
    assert len(unavailable) == 1 and unavailable[0].severity == Severity.WARN
    assert "only the deterministic checks ran" in unavailable[0].explanation
    # the deterministic blocks stand
    assert {f.rule_id for f in blocking(found)} == {f.rule_id for f in blocking(deterministic)}
    assert [(f.task, f.campaign_id) for f in llm.fallbacks] == [("judge_copy", "camp1")]
