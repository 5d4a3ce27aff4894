"""A scripted "LLM" for the agents' tasks, served through the local OpenAI-compatible server.

It answers each task (the structured-output schema name) with plausible JSON, like a real model
would, so the whole graph runs on the OpenAI engine. `bad_copy` makes the writer produce
non-compliant copy, to prove that guardrails stop it.
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

    def __init__(self, *, bad_copy: str = "never") -> None:
        """`bad_copy`: "never", "first" (bad on the first attempt), or "always"."""
        self.bad_copy = bad_copy
        self.write_calls: list[str] = []

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
        raise AssertionError(f"unexpected task {task!r}")
