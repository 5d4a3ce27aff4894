"""OpenAI-compatible servers that are less than OpenAI: no `json_schema` structured outputs
(only JSON mode, only tool calls, or neither), JSON wrapped in prose, malformed JSON every few
calls, rate limits. Each wraps a responder that answers by task (e.g. `MarketingLLM`)."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

Responder = Callable[[dict[str, Any]], str]

_TASK_IN_PROMPT = re.compile(r"one JSON object for `([\w-]+)`")


def task_of(request: dict[str, Any]) -> str | None:
    """The task of a request in any mode: the json_schema name, the forced tool's name, or the
    name the client writes into the prompt."""
    fmt = request.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        return str(fmt["json_schema"]["name"])
    tools = request.get("tools")
    if tools:
        return str(tools[0]["function"]["name"])
    match = _TASK_IN_PROMPT.search(str(request["messages"][0]["content"]))
    return match.group(1) if match else None


def as_json_schema_request(request: dict[str, Any]) -> dict[str, Any]:
    """The request as the inner responder expects it (task in `response_format`)."""
    return {**request, "response_format": {"json_schema": {"name": task_of(request)}}}


class LesserServer:
    """Responder: supports only `modes` (of json_schema, json_object, tools, prompt) and
    answers the others with 400; `prose` wraps JSON in a sentence and a code fence."""

    def __init__(self, inner: Responder, *, modes: set[str], prose: bool = False) -> None:
        self.inner = inner
        self.modes = modes
        self.prose = prose
        self.seen_modes: list[str] = []

    def __call__(self, request: dict[str, Any]) -> str | dict[str, Any]:
        fmt = request.get("response_format") or {}
        mode = (
            "tools"
            if request.get("tools")
            else "json_schema"
            if fmt.get("type") == "json_schema"
            else "json_object"
            if fmt.get("type") == "json_object"
            else "prompt"
        )
        self.seen_modes.append(mode)
        if mode not in self.modes:
            return _status(400, f"{mode} is not supported by this server")
        content = self.inner(as_json_schema_request(request))
        if mode == "tools":
            return _tool_reply(request, content)
        if self.prose:
            content = (
                f"Sure! Here is the plan you asked for:\n```json\n{content}\n```\nHope it helps."
            )
        return content


class FlakyServer:
    """Responder: every `malformed_every`-th call gets broken JSON, every `limit_every`-th a
    429 (with a short Retry-After), and every parse_brief a semantically wrong objective when
    `wrong_plans` (schema-valid, but win-back on e-mail and SMS whatever the brief said)."""

    def __init__(
        self,
        inner: Responder,
        *,
        malformed_every: int = 4,
        limit_every: int = 5,
        wrong_plans: bool = True,
    ) -> None:
        self.inner = inner
        self.malformed_every = malformed_every
        self.limit_every = limit_every
        self.wrong_plans = wrong_plans
        self._n = itertools.count(1)
        self._lock = threading.Lock()
        self.malformed = self.limited = 0

    def __call__(self, request: dict[str, Any]) -> str | dict[str, Any]:
        with self._lock:
            n = next(self._n)
        if n % self.limit_every == 0:
            self.limited += 1
            return _status(429, "Rate limit reached", {"retry-after-ms": "20"})
        if n % self.malformed_every == 0:
            self.malformed += 1
            return '{"objective": {"name": "cut off'
        task = task_of(request)
        if self.wrong_plans and task == "draft_plan":
            # schema-valid, semantically wrong: a filter value that is not a number
            return json.dumps(
                {
                    "audiences": [
                        {
                            "name": "Everyone",
                            "filters": [{"feature": "recency_days", "op": "lte", "value": "soon"}],
                        }
                    ],
                    "journey": [
                        {"id": "s1", "channel": "email", "delay_hours": 0, "content_brief": "Hi"}
                    ],
                    "rationale": "wrong",
                }
            )
        return self.inner(as_json_schema_request(request))


def _status(status: int, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A reply the server sends as an HTTP error (see `OpenAIServer`'s `_status` handling)."""
    return {"__status__": status, "message": message, "headers": headers or {}}


def _tool_reply(request: dict[str, Any], arguments: str) -> dict[str, Any]:
    name = request["tools"][0]["function"]["name"]
    return {
        "id": "chatcmpl-tool",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "test-model"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": name, "arguments": arguments},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
