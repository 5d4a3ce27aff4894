"""The guardrail check as a form: paste copy, pick a channel, see each finding with the span it
refers to marked. The same check as `autocmo check` and `POST /api/v1/guardrails/check`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.check import CheckRequest, JudgeUnavailable, check_copy, judge_available
from api.deps import AppDeps, Reader
from api.rendering import highlight, render
from core.models import Channel, Offer
from tools.llm import LLMError

router = APIRouter(include_in_schema=False)


def _form(request: Request, deps: AppDeps, status: int = 200, **context: object) -> HTMLResponse:
    return render(
        request,
        "pages/check.html",
        status=status,
        channels=[c.value for c in Channel],
        judge_ok=judge_available(deps.llm),
        **{
            "form": {
                "channel": "email",
                "subject": "",
                "body": "",
                "footer": True,
                "percent_off": "",
            },
            "result": None,
            "marked": None,
            "error": None,
            **context,
        },
    )


def _offer(percent_off: str) -> Offer | None:
    """The offer the copy belongs to, from the form's percent field (blank: none)."""
    text = percent_off.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        percent = float(text)
    except ValueError:
        raise ValueError(f"The discount {percent_off!r} is not a number: write e.g. 15.") from None
    if not 0 < percent <= 100:
        raise ValueError("The discount is a percentage between 0 and 100.")
    return Offer(kind="percent_off", percent=percent)


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """An empty check form."""
    return _form(request, deps)


@router.post("/check", response_class=HTMLResponse)
async def check_submit(
    request: Request,
    deps: AppDeps,
    _user: Reader,
    channel: Annotated[str, Form(max_length=10)],
    body: Annotated[str, Form(max_length=100_000)],
    subject: Annotated[str, Form(max_length=1000)] = "",
    footer: Annotated[bool, Form()] = False,
    judge: Annotated[bool, Form()] = False,
    percent_off: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Check the pasted copy against the brand kit and show the verdict and findings; with a
    percent-off offer, its disclaimer goes into the footer and the brand's limits apply."""
    form = {
        "channel": channel,
        "subject": subject,
        "body": body,
        "footer": footer,
        "judge": judge,
        "percent_off": percent_off,
    }
    try:
        item = CheckRequest(
            channel=Channel(channel) if channel in {c.value for c in Channel} else None,
            subject=subject.strip() or None,
            body=body,
            footer=footer,
            judge=judge,
            offer=_offer(percent_off),
        )
        if item.channel is None:
            raise ValueError(f"Unknown channel {channel!r}: pick email, sms or push.")
        if not body.strip():
            raise ValueError("Paste the copy to check into the message box.")
        result = await run_in_threadpool(check_copy, deps.kit, item, llm=deps.llm)
    except (ValueError, ValidationError, JudgeUnavailable) as exc:
        return _form(request, deps, status=422, form=form, error=str(exc))
    except LLMError as exc:
        return _form(request, deps, status=502, form=form, error=f"The LLM judge failed: {exc}")
    spans = [f.span or "" for f in result.findings]
    marked = {"subject": highlight(subject, spans), "body": highlight(body, spans)}
    return _form(request, deps, form=form, result=result, marked=marked)
