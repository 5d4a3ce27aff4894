"""A scripted "model" for the planner eval: it answers each brief of the dataset from the
brief's expected fields, through the local OpenAI-compatible server.

It checks the eval harness on the LLM engine (prompts sent, answers validated, fields scored),
not a model: a perfect reader of the dataset scores near 100 % by construction, except where
the checks that run before or after the model (injection, consent, a launch's catalog product)
decide.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evals.planner_eval import PlannerCase
from tests.support.openai_server import schema_name

_DATA = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def delimited(request: dict[str, Any], block: int = 0) -> Any:
    """The JSON data of the request's user message (`tools.llm.delimit`): its first block, or
    the one numbered `block` (None when there is no such block)."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    found = _DATA.findall(user)
    assert found, f"no delimited data in the user message: {user[:200]!r}"
    return json.loads(found[block]) if block < len(found) else None


class PlannerOracle:
    """Responder for `OpenAIServer`: parse_brief and draft_plan from the expected fields."""

    def __init__(self, cases: list[PlannerCase]) -> None:
        self.by_brief = {(c.brief.strip(), tuple(c.answers)): c for c in cases}
        self.by_id = {c.id: c for c in cases}

    def __call__(self, request: dict[str, Any]) -> str:
        task = schema_name(request)
        if task == "parse_brief":
            said = tuple(f["text"] for f in delimited(request, 1) or [])
            return json.dumps(self._parse(self.by_brief[delimited(request), said]))
        if task == "draft_plan":
            name = delimited(request)["name"]
            return json.dumps(self._plan(self.by_id[name.removeprefix("case ")]))
        raise AssertionError(f"unexpected task {task!r}")

    def _parse(self, case: PlannerCase) -> dict[str, Any]:
        e = case.expect
        if e.get("questions"):
            return {"objective": None, "questions": ["What is the goal?"], "assumptions": []}
        offer = dict(e.get("offer") or {"kind": "none"})
        constraints = []
        if offer["kind"] == "bogo":
            offer["kind"] = "percent_off"
            constraints.append(f"BOGO: {offer['percent']}% off the second item.")
        return {
            "objective": {
                "name": f"case {case.id}",
                "goal": e.get("goal", "promotion"),
                "kpi": "conversion_rate",
                "audience_hints": [],
                "channels": e.get("channels", ["email"]),
                "offer": {"percent": None, "code": None, "expires": None, **offer},
                "start": f"{e['start']}T00:00:00Z" if "start" in e else None,
                "end": f"{e['end']}T00:00:00Z" if "end" in e else None,
                "constraints": constraints,
                "recurrence": None,
                "trigger": None,
            },
            "questions": [],
            "assumptions": [],
        }

    def _plan(self, case: PlannerCase) -> dict[str, Any]:
        e = case.expect
        channels = e.get("channels", ["email"])
        delays = e.get("delays") or [48.0 * i for i in range(len(channels))]
        conditions = e.get("conditions") or ["always"] + ["not_converted"] * (len(delays) - 1)
        filters = [{"feature": f, "op": op, "value": v} for f, op, v in e.get("filters", [])]
        return {
            "audiences": [
                {
                    "name": "As the brief says",
                    "description": "",
                    "filters": filters or [{"feature": "frequency", "op": "gte", "value": 0}],
                }
            ],
            "journey": [
                {
                    "id": f"s{i + 1}",
                    "channel": channels[min(i, len(channels) - 1)],
                    "delay_hours": d,
                    "condition": conditions[min(i, len(conditions) - 1)],
                    "content_brief": "As the brief says",
                }
                for i, d in enumerate(delays)
            ],
            "send_hour_local": 10,
            "rationale": "From the brief.",
        }
