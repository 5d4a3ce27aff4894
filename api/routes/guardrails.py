"""Guardrails: check copy against the brand kit (the same as `autocmo check`)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api.check import JUDGE_NEEDS_AN_LLM, CheckRequest, CheckResult, check_many, judge_available
from api.deps import AppDeps
from tools.llm import LLMError

router = APIRouter(tags=["guardrails"])

_MAX_BATCH = 1000


@router.post("/guardrails/check", response_model=list[CheckResult])
def check(body: CheckRequest | list[CheckRequest], deps: AppDeps) -> list[CheckResult]:
    """Check one message or a list of them; returns one result per message, in order.

    The system's compliance footer is appended unless a message sets `"footer": false`.
    A message with `"judge": true` is also reviewed by the LLM judge (tone, claims); that
    needs an LLM configured on the server (422 otherwise, 502 when the LLM call fails).
    """
    items = body if isinstance(body, list) else [body]
    if len(items) > _MAX_BATCH:
        raise HTTPException(
            status_code=413, detail=f"At most {_MAX_BATCH} messages per request; split the batch."
        )
    for n, item in enumerate(items, 1):
        if item.channel is None:
            raise HTTPException(
                status_code=422,
                detail=f"message {n} ({item.id or 'no id'}) has no channel: use email, sms, push.",
            )
    if any(item.judge for item in items) and not judge_available(deps.llm):
        raise HTTPException(status_code=422, detail=f'"judge": true: {JUDGE_NEEDS_AN_LLM}.')
    try:
        return check_many(deps.kit, items, llm=deps.llm)
    except LLMError as exc:
        raise HTTPException(status_code=502, detail=f"The LLM judge failed: {exc}") from exc
