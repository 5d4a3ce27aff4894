"""A scripted "LLM" for the agents' tasks, served through the local OpenAI-compatible server.

It answers each task (the structured-output schema name) with plausible JSON, like a real model
would, so the whole graph runs on the OpenAI engine. `bad_copy` makes the writer produce
non-compliant copy, to prove that guardrails stop it; `judge` sets what the LLM judge says
(`pass`: nothing; `tone`: a tone warning quoting the copy; `claim`: a blocking claim finding).
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.openai_server import schema_name

GOOD_EMAIL = [
    {
        "arm": "A",
        "angle": "value",
        "subject": "{{ offer_text }} on your next order",
        "body": "Hi {{ first_name or 'there' }},\n\nWe saved {{ offer_text }} for you: use code "
        "{{ code }} on {{ product_name }} and everything else at {{ shop_url }}.\n\n"
        "The {{ brand_name }} team",
    },
    {
        "arm": "B",
        "angle": "personal",
        "subject": "{{ product_name }} is still here for you",
        "body": "Hi {{ first_name or 'there' }},\n\nYou liked {{ product_name }}. Come back for "
        "{{ offer_text }} with code {{ code }}: {{ product_url }}\n\n"
        "The {{ brand_name }} team",
    },
]
GOOD_SMS = [
    {
        "arm": "A",
        "angle": "value",
        "subject": None,
        "body": "{{ offer_text }} with code {{ code }}: {{ shop_url }}",
    },
    {
        "arm": "B",
        "angle": "personal",
        "subject": None,
        "body": "{{ product_name }} is waiting: {{ offer_text }}, code {{ code }}",
    },
]
BAD_EMAIL = [
    {
        "arm": "A",
        "angle": "urgency",
        "subject": "RE: your order",
        "body": "Guaranteed the best in the world! Click {{ shop_url }} — risk-free, act now!!!",
    },
    {
        "arm": "B",
        "angle": "value",
        "subject": "{{ offer_text }} for you",
        "body": "Hi {{ first_name or 'there' }}, {{ offer_text }} with code {{ code }}: "
        "{{ shop_url }}",
    },
]


class MarketingLLM:
    """Responder for `OpenAIServer`: answers parse_brief, draft_plan and write_variants."""

    def __init__(self, *, bad_copy: str = "never", judge: str = "pass") -> None:
        """`bad_copy`: "never", "first" (bad on the first attempt), or "always";
        `judge`: "pass", "tone" or "claim"."""
        self.bad_copy = bad_copy
        self.judge = judge
        self.write_calls: list[str] = []
        self.translate_calls: list[str] = []
        self.judge_calls: list[dict[str, Any]] = []

    def __call__(self, request: dict[str, Any]) -> str:
        task = schema_name(request)
        system = request["messages"][0]["content"]
        if task == "parse_brief":
            return json.dumps(
                {
                    "objective": {
                        "name": "Win them back",
                        "goal": "winback",
                        "kpi": "conversion_rate",
                        "audience_hints": ["recency_days_gte:90"],
                        "channels": ["email", "sms"],
                        "offer": {
                            "kind": "percent_off",
                            "percent": 10,
                            "code": "COMEBACK10",
                            "expires": None,
                        },
                        "start": None,
                        "end": None,
                        "constraints": [],
                    },
                    "questions": [],
                    "assumptions": ["LLM assumption: start now."],
                }
            )
        if task == "draft_plan":
            return json.dumps(
                {
                    "audiences": [
                        {
                            "name": "Lapsed buyers",
                            "description": "no order in 90 days",
                            "filters": [{"feature": "recency_days", "op": "gte", "value": 90}],
                        }
                    ],
                    "journey": [
                        {
                            "id": "s1",
                            "channel": "email",
                            "delay_hours": 0,
                            "condition": "always",
                            "content_brief": "Bring them back with the offer",
                        },
                        {
                            "id": "s2",
                            "channel": "sms",
                            "delay_hours": 72,
                            "condition": "not_converted",
                            "content_brief": "Short reminder",
                        },
                    ],
                    "send_hour_local": 11,
                    "rationale": "LLM plan: lapsed buyers, email then SMS.",
                }
            )
        if task == "write_variants":
            self.write_calls.append(system)
            is_sms = "one sms message" in system
            retry = "previous draft was blocked" in system
            bad = self.bad_copy == "always" or (self.bad_copy == "first" and not retry)
            variants = GOOD_SMS if is_sms else BAD_EMAIL if bad else GOOD_EMAIL
            return json.dumps({"variants": variants})
        if task and task.startswith("write_variants_"):  # the arms in another language
            lang = task.removeprefix("write_variants_")
            self.translate_calls.append(lang)
            arms = copy_under_review(request)
            assert isinstance(arms, list)
            for arm in arms:
                arm["body"] = f"({lang}) {arm['body']}"
                if arm.get("subject"):
                    arm["subject"] = f"({lang}) {arm['subject']}"
            return json.dumps({"variants": arms})
        if task == "judge_copy":
            copy = copy_under_review(request)
            self.judge_calls.append(copy)
            return json.dumps({"findings": judge_findings(self.judge, copy)})
        raise AssertionError(f"unexpected task {task!r}")


def copy_under_review(request: dict[str, Any]) -> Any:
    """The copy a judge (or translation) request carries (the delimited JSON block of the user
    message)."""
    user = request["messages"][-1]["content"]
    block = user.split("```json\n", 1)[1].rsplit("\n```", 1)[0]
    return json.loads(block)


def judge_findings(mode: str, copy: dict[str, Any]) -> list[dict[str, Any]]:
    """What a judge in `mode` ("pass", "tone", "claim") says about the copy."""
    if mode == "pass":
        return []
    first = next(line for line in copy["body"].splitlines() if line.strip())
    if mode == "tone":
        return [
            {
                "rule_id": "judge.tone",
                "severity": "warn",
                "span": first,
                "explanation": "The opening sounds pushy, not warm and practical.",
                "suggested_fix": "Open with a concrete detail about the gear.",
            }
        ]
    return [
        {
            "rule_id": "judge.claim",
            "severity": "block",
            "span": first,
            "explanation": "It implies a performance claim the brand cannot back up.",
            "suggested_fix": "State the tested rating instead.",
        }
    ]


GOOD_PLAIN = {
    "arm": "B",
    "angle": "value",
    "subject": "The {{ product_name }} is ready for the trail",
    "body": "Hi {{ first_name or 'there' }},\n\nThe {{ product_name }} is built for long days "
    "outside and easy to repair.\nSee it: {{ product_url }}\n\nThe {{ brand_name }} team",
}


class GullibleWriter:
    """Responder for the adversarial eval: arm A does what the brief pushes for (health talk,
    a huge discount with guarantees, a foreign link, or `echo` text), arm B is compliant."""

    def __init__(self, *, echo: str | None = None) -> None:
        """`echo`: a text arm A always writes into its body (to test the leak gate)."""
        self.echo = echo
        self.calls = 0

    def __call__(self, request: dict[str, Any]) -> str:
        assert schema_name(request) == "write_variants", schema_name(request)
        self.calls += 1
        prompt = " ".join(m["content"] for m in request["messages"]).lower()
        is_sms = "one sms message" in prompt
        if "arthritis" in prompt:
            bad = "Living with arthritis or diabetes? Our cushioned boots ease the pain."
        elif "60%" in prompt:
            bad = "60% off everything! Guaranteed results from the #1 outdoor brand."
        elif "deals.example" in prompt:
            bad = "Our spring range is here: https://deals.example/win"
        else:
            bad = "Hi {{ first_name or 'there' }}, the {{ product_name }} is waiting."
        if self.echo:
            bad += " " + self.echo
        arm_a = {
            "arm": "A",
            "angle": "urgency",
            "subject": None if is_sms else "Read this, {{ first_name or 'friend' }}",
            "body": bad + " {{ product_url }}",
        }
        good = dict(GOOD_PLAIN, subject=None) if is_sms else GOOD_PLAIN
        if is_sms:
            good["body"] = (
                "The {{ product_name }} is built for long days outside. {{ product_url }}"
            )
        return json.dumps({"variants": [arm_a, good]})
