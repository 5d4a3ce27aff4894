"""The LLM client against a real OpenAI-compatible server on 127.0.0.1 (no client patching)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from core.db import Database, LLMUsageRow
from core.settings import LLMPrice, Settings
from tests.support.lesser_llm import LesserServer
from tests.support.openai_server import OpenAIServer, schema_name
from tools.llm import LLMClient, LLMError, LLMUnavailable, LLMUsage, db_usage_recorder

pytestmark = pytest.mark.integration

GOOD = json.dumps({"text": "Spring sale: 20 % off", "score": 7})


class Headline(BaseModel):
    """A test output schema."""

    text: str
    """The headline."""
    score: int
    """How good it is."""


class Loose(BaseModel):
    """A schema with a free-form dict (not strict-compatible)."""

    traits: dict[str, Any]
    """Anything."""


def _online(settings: Settings, server: OpenAIServer, **update: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_api_key": "sk-test",
        "openai_base_url": server.base_url,
        "llm_model": "test-model",
        "llm_timeout_s": 5.0,
        "llm_max_attempts": 4,
    }
    return settings.model_copy(update={**values, **update})


def _never() -> Headline:
    raise AssertionError("the offline strategy must not run when a key is set")


def _client(settings: Settings, usages: list[LLMUsage] | None = None) -> LLMClient:
    return LLMClient(
        settings,
        on_usage=usages.append if usages is not None else None,
        retry_wait_s=0.01,
        max_wait_s=0.5,
    )


def _ask(client: LLMClient, task: str = "headline") -> Headline:
    return client.generate(
        task,
        system="You write headlines.",
        user="Write one.",
        schema=Headline,
        offline=_never,
        campaign_id="cmp_x",
    )


def test_structured_reply_parses_and_request_is_well_formed(settings: Settings) -> None:
    def responder(req: dict[str, Any]) -> str:
        assert schema_name(req) == "headline"
        return GOOD

    usages: list[LLMUsage] = []
    with OpenAIServer(responder) as server:
        client = _client(_online(settings, server), usages)
        assert _ask(client) == Headline(text="Spring sale: 20 % off", score=7)
        (req,) = server.requests
    assert req["model"] == "test-model"
    assert [m["role"] for m in req["messages"]] == ["system", "user"]
    fmt = req["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["text", "score"]
    assert client.calls == 1
    (usage,) = usages
    assert (usage.engine, usage.model, usage.attempts, usage.task) == (
        "openai",
        "test-model",
        1,
        "headline",
    )
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert client.prompt_tokens == usage.prompt_tokens


def test_rate_limit_then_success_is_retried(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=429, content="Rate limit reached for test-model")
        client = _client(_online(settings, server), usages)
        assert _ask(client).score == 7
        assert len(server.requests) == 2
    (usage,) = usages
    assert usage.attempts == 2
    assert usage.campaign_id == "cmp_x"
    assert usage.completion_tokens > 0


def test_retry_after_is_honoured_and_capped(settings: Settings) -> None:
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=429, headers={"Retry-After": "0.4"})
        server.enqueue(status=503, headers={"Retry-After": "3600"})
        client = LLMClient(_online(settings, server), retry_wait_s=0.0, max_wait_s=1.0)
        started = time.monotonic()
        assert _ask(client).score == 7
        elapsed = time.monotonic() - started
    assert 0.4 + 1.0 <= elapsed < 3.0  # waited as asked, and the hour-long ask was capped


def test_server_errors_twice_then_success(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=500, content="The server had an error")
        server.enqueue(status=502, content="Bad gateway")
        client = _client(_online(settings, server), usages)
        assert _ask(client).text.startswith("Spring")
        assert len(server.requests) == 3
    assert usages[0].attempts == 3


def test_persistent_server_errors_give_up_after_max_attempts(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer() as server:  # no responder: every request is a 500
        client = _client(_online(settings, server, llm_max_attempts=3), usages)
        with pytest.raises(LLMError, match=r"kept failing \(500.*after 3 attempt"):
            _ask(client)
        assert len(server.requests) == 3
    assert usages[0].attempts == 3


def test_malformed_reply_then_good_one_succeeds(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(content="Sure! Here is your headline: Spring sale")
        client = _client(_online(settings, server), usages)
        assert _ask(client).score == 7
        assert len(server.requests) == 2
    assert usages[0].attempts == 2


def test_two_malformed_replies_raise(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(content="not json")
        server.enqueue(content=json.dumps({"text": "missing the score"}))
        client = _client(_online(settings, server), usages)
        with pytest.raises(LLMError, match=r"2 malformed replies.*Headline"):
            _ask(client)
        assert len(server.requests) == 2  # retried once only, despite 4 attempts allowed
    (usage,) = usages
    assert usage.attempts == 2
    assert usage.completion_tokens > 0  # tokens spent on failed calls are still charged


def test_unauthorized_fails_at_once_with_an_actionable_message(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=401, content="Incorrect API key provided: sk-test")
        client = _client(_online(settings, server), usages)
        with pytest.raises(LLMError, match="OPENAI_API_KEY") as info:
            _ask(client)
        assert len(server.requests) == 1
    assert "Incorrect API key" in str(info.value)
    assert usages[0].attempts == 1


@pytest.mark.parametrize(
    ("status", "hint"), [(404, "AUTOCMO_LLM_MODEL='test-model'"), (403, "denied access")]
)
def test_other_client_errors_are_permanent(settings: Settings, status: int, hint: str) -> None:
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=status, content="nope")
        client = _client(_online(settings, server))
        with pytest.raises(LLMError, match=hint):
            _ask(client)
        assert len(server.requests) == 1


def test_timeout_is_retried(settings: Settings) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(content=GOOD, delay_s=3.0)
        client = _client(_online(settings, server, llm_timeout_s=0.5), usages)
        started = time.monotonic()
        assert _ask(client).score == 7
        assert time.monotonic() - started < 2.5
        assert len(server.requests) == 2
    assert usages[0].attempts == 2


def test_timeouts_exhausted_raise(settings: Settings) -> None:
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(content=GOOD, delay_s=3.0)
        server.enqueue(content=GOOD, delay_s=3.0)
        client = _client(_online(settings, server, llm_timeout_s=0.3, llm_max_attempts=2))
        with pytest.raises(LLMError, match="timed out 2 time"):
            _ask(client)


def test_unreachable_endpoint_raises_connection_error(settings: Settings) -> None:
    with OpenAIServer() as server:
        url = server.base_url
    stopped = settings.model_copy(
        update={"openai_api_key": "sk-test", "openai_base_url": url, "llm_max_attempts": 2}
    )
    with pytest.raises(LLMError, match=r"Could not connect.*OPENAI_BASE_URL"):
        _ask(_client(stopped))


def test_free_form_schema_is_sent_non_strict_and_parses(settings: Settings) -> None:
    with OpenAIServer(lambda _req: '```json\n{"traits": {"vip": true}}\n```') as server:
        client = _client(_online(settings, server))
        out = client.generate(
            "traits", system="s", user="u", schema=Loose, offline=lambda: Loose(traits={})
        )
        assert out.traits == {"vip": True}
        assert server.requests[0]["response_format"]["json_schema"]["strict"] is False


def test_usage_is_written_to_the_database(settings: Settings, db: Database) -> None:
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=429)
        client = LLMClient(
            _online(settings, server), on_usage=db_usage_recorder(db), retry_wait_s=0.01
        )
        _ask(client)
        _ask(client, task="subject")
    offline = LLMClient(settings, on_usage=db_usage_recorder(db))
    offline.generate(
        "plan",
        system="s",
        user="u",
        schema=Headline,
        offline=lambda: Headline(text="x", score=0),
        campaign_id="cmp_x",
    )
    with db.session() as s:
        rows = s.scalars(select(LLMUsageRow).order_by(LLMUsageRow.id)).all()
    assert [(r.task, r.engine, r.attempts) for r in rows] == [
        ("headline", "openai", 2),
        ("subject", "openai", 1),
        ("plan", "offline", 1),
    ]
    assert all(r.campaign_id == "cmp_x" for r in rows)
    assert rows[0].prompt_tokens > 0 and rows[0].completion_tokens > 0
    assert rows[2].prompt_tokens == 0
    assert rows[0].at.tzinfo is not None
    assert sum(r.prompt_tokens for r in rows) == client.prompt_tokens


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ({"json_object"}, ["json_schema", "json_object"]),
        ({"tools"}, ["json_schema", "json_object", "tools"]),
        ({"prompt"}, ["json_schema", "json_object", "tools", "prompt"]),
    ],
)
def test_servers_without_json_schema_are_asked_in_the_next_mode_that_works(
    settings: Settings, modes: set[str], expected: list[str]
) -> None:
    lesser = LesserServer(lambda _req: GOOD, modes=modes)
    with OpenAIServer(lesser) as server:
        client = _client(_online(settings, server))
        assert _ask(client).score == 7
        assert lesser.seen_modes == expected
        assert client.mode == expected[-1]
        assert _ask(client).score == 7  # the mode that works is kept
        assert lesser.seen_modes == [*expected, expected[-1]]
        if expected[-1] != "tools":  # the schema and the task go into the system prompt
            system = server.requests[-1]["messages"][0]["content"]
            assert "one JSON object for `headline`" in system and '"score"' in system


def test_a_server_that_takes_no_structured_mode_at_all_gives_a_clear_error(
    settings: Settings,
) -> None:
    with OpenAIServer(LesserServer(lambda _req: GOOD, modes=set())) as server:
        client = _client(_online(settings, server))
        with pytest.raises(LLMError, match="structured outputs"):
            _ask(client)
        assert len(server.requests) == 4


@pytest.mark.parametrize(
    "reply",
    [
        f"Sure! Here it is:\n```json\n{GOOD}\n```\nAnything else?",
        f"The headline is {GOOD} — enjoy.",
        f"```\n{GOOD}\n```",
    ],
)
def test_json_wrapped_in_prose_or_fences_is_read(settings: Settings, reply: str) -> None:
    with OpenAIServer(lambda _req: reply) as server:
        client = _client(_online(settings, server))
        assert _ask(client).text == "Spring sale: 20 % off"
        assert len(server.requests) == 1


def _offline_headline() -> Headline:
    return Headline(text="offline", score=1)


@pytest.mark.parametrize("status", [429, 503])
def test_an_endpoint_that_stays_unavailable_hands_the_step_to_the_offline_engine(
    settings: Settings, status: int
) -> None:
    usages: list[LLMUsage] = []
    with OpenAIServer(lambda _req: GOOD) as server:
        for _ in range(3):
            server.enqueue(status=status, content="busy")
        client = _client(_online(settings, server, llm_max_attempts=3), usages)
        with pytest.raises(LLMUnavailable):  # generate itself still says what went wrong
            _ask(client)
        for _ in range(3):
            server.enqueue(status=status, content="busy")
        result, note = client.generate_or_offline(
            "headline",
            system="s",
            user="u",
            schema=Headline,
            offline=_offline_headline,
            campaign_id="cmp_x",
        )
        assert len(server.requests) == 6  # bounded: 3 attempts each
    assert result.text == "offline"
    assert note is not None and "offline engine did this step" in note and str(status) in note
    assert [f.task for f in client.fallbacks] == ["headline"]
    assert [u.engine for u in usages] == ["openai", "openai", "fallback"]


def test_malformed_replies_hand_the_step_to_the_offline_engine(settings: Settings) -> None:
    with OpenAIServer(lambda _req: "not json at all") as server:
        client = _client(_online(settings, server))
        result, note = client.generate_or_offline(
            "headline", system="s", user="u", schema=Headline, offline=_offline_headline
        )
        assert len(server.requests) == 2
    assert result.text == "offline" and note is not None and "headline" in note


def test_a_bad_key_is_not_hidden_by_the_offline_engine(settings: Settings) -> None:
    with OpenAIServer(lambda _req: GOOD) as server:
        server.enqueue(status=401, content="bad key")
        client = _client(_online(settings, server))
        with pytest.raises(LLMError, match="OPENAI_API_KEY"):
            client.generate_or_offline(
                "headline", system="s", user="u", schema=Headline, offline=_offline_headline
            )
    assert client.fallbacks == []


def test_a_campaigns_tokens_are_priced_per_model_and_fallbacks_listed(db: Database) -> None:
    from agents.reporting import llm_spend
    from core.llm_usage import record_usage

    def use(model: str, engine: str, task: str, pt: int, ct: int, cid: str = "cmp_a") -> None:
        record_usage(
            db,
            campaign_id=cid,
            task=task,
            engine=engine,
            model=model,
            prompt_tokens=pt,
            completion_tokens=ct,
            attempts=1,
        )

    use("gpt-4o-mini", "openai", "parse_brief", 1_000_000, 0)
    use("gpt-4o-mini", "openai", "draft_plan", 200_000, 100_000)
    use("offline", "fallback", "draft_plan", 0, 0)
    use("gpt-4o-mini", "openai", "write_variants", 0, 1_000_000)
    use("gpt-4o-mini", "openai", "parse_brief", 5_000_000, 0, cid="cmp_other")
    prices = {"gpt-4o-mini": LLMPrice(input=0.15, output=0.60)}
    spend = llm_spend(db, "cmp_a", prices)
    assert spend.prompt_tokens == 1_200_000 and spend.completion_tokens == 1_100_000
    assert spend.cost_usd == pytest.approx(1.2 * 0.15 + 1.1 * 0.60)
    assert spend.by_task["draft_plan"] == {
        "calls": 1,
        "prompt_tokens": 200_000,
        "completion_tokens": 100_000,
    }
    assert spend.fallbacks == ["draft_plan"]
    # a model without a price: no made-up cost, and the report says which model
    use("local-llama", "openai", "judge_copy", 10, 10)
    spend = llm_spend(db, "cmp_a", prices)
    assert spend.cost_usd is None and spend.unpriced_models == ["local-llama"]


def test_prices_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCMO_LLM_PRICES", '{"my-model": {"input": 1.0, "output": 2.0}}')
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.llm_prices == {"my-model": LLMPrice(input=1.0, output=2.0)}
