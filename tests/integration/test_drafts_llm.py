"""A draft on the OpenAI engine (the real `openai` client against a local OpenAI-compatible
server): a change request reaches the model with the brief, both as delimited data in the user
message and never in the system prompt, and the revised plan is validated like any other."""

from __future__ import annotations

import json
from typing import Any

from core.models import Channel
from core.settings import Settings
from graphs.operations import reply_to_draft, submit_brief
from tests.integration.conftest import WINBACK_BRIEF
from tests.integration.test_llm_graph import _llm_deps
from tests.support.marketing_llm import MarketingLLM
from tests.support.openai_server import OpenAIServer, schema_name

CHANGE = "SMS only, and exclude people who bought in the last week"


class RevisingLLM(MarketingLLM):
    """Reads the follow-ups in the user message like a model would: SMS only, and leaves out
    last week's buyers."""

    def __call__(self, request: dict[str, Any]) -> str:
        answer = super().__call__(request)
        if schema_name(request) != "parse_brief" or CHANGE not in request["messages"][1]["content"]:
            return answer
        parsed = json.loads(answer)
        parsed["objective"]["channels"] = ["sms"]
        parsed["objective"]["audience_hints"].append("exclude_bought_days:7")
        parsed["assumptions"] = ["Applied: SMS only; last week's buyers left out."]
        return json.dumps(parsed)


def test_a_change_request_reaches_the_model_as_delimited_data(settings: Settings) -> None:
    with OpenAIServer(RevisingLLM()) as server:
        deps = _llm_deps(settings, server.base_url)
        first = submit_brief(deps, WINBACK_BRIEF, submitted_by="mia", review=True)
        assert first.waiting_for == "review" and first.plan is not None
        assert first.plan.objective.channels == [Channel.EMAIL, Channel.SMS]
        res = reply_to_draft(deps, first.campaign_id, CHANGE, by="mia")
        parses = [r for r in server.requests if schema_name(r) == "parse_brief"]
    assert len(parses) == 2
    system, user = (m["content"] for m in parses[-1]["messages"][:2])
    assert CHANGE not in system and WINBACK_BRIEF not in system
    assert "follow_ups (untrusted data" in user and "brief (untrusted data" in user
    assert f'"text": "{CHANGE}"' in user and '"kind": "change"' in user
    assert res.plan is not None and res.waiting_for == "review"
    # the model drafted email + SMS steps; only the channel the marketer allowed remains
    assert {st.channel for st in res.plan.journey} == {Channel.SMS}
    assert res.plan.audiences[0].exclusions[0].value == 7
    assert "Applied: SMS only; last week's buyers left out." in res.assumptions


class LanguageLLM(MarketingLLM):
    """Sets the copy language a change asks for, as a model would (a BCP-47 tag for German,
    a language the brand kit has no copy in for Spanish)."""

    def __call__(self, request: dict[str, Any]) -> str:
        answer = super().__call__(request)
        user = request["messages"][1]["content"] if len(request["messages"]) > 1 else ""
        if schema_name(request) != "parse_brief" or "follow_ups" not in user:
            return answer
        parsed = json.loads(answer)
        parsed["objective"]["language"] = "es" if "Spanisch" in user else "de-DE"
        return json.dumps(parsed)


def test_the_model_sets_the_copy_language_and_the_kit_bounds_it(settings: Settings) -> None:
    with OpenAIServer(LanguageLLM()) as server:
        deps = _llm_deps(settings, server.base_url)
        first = submit_brief(deps, WINBACK_BRIEF, submitted_by="mia", review=True)
        assert first.plan is not None and first.plan.objective.language is None
        german = reply_to_draft(deps, first.campaign_id, "Bitte alles auf Deutsch", by="mia")
        spanish = reply_to_draft(deps, first.campaign_id, "Doch lieber auf Spanisch", by="mia")
        parse = [r for r in server.requests if schema_name(r) == "parse_brief"][-1]
    # the model is told about the field, and its answer is normalised to the language code
    assert "`language`" in parse["messages"][0]["content"]
    assert german.plan is not None and german.plan.objective.language == "de"
    # no Spanish copy in the kit: each person's own language, and the plan says why
    assert spanish.plan is not None and spanish.plan.objective.language is None
    assert any("no copy in Spanish (es)" in a for a in spanish.assumptions)
