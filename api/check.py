"""Check copy against the brand's guardrails: the logic behind `autocmo check` and
`POST /api/v1/guardrails/check`.

Each message is `{"id", "channel", "subject"?, "body", "recipient"?, "offer"?, "footer"?,
"judge"?}`; with `judge` (or `autocmo check --judge`) the LLM judge reviews tone and claims
after the deterministic checks, which needs an LLM configured (`OPENAI_API_KEY`).
Unless `footer` is false, the system's compliance footer (with the offer's disclaimer) is
appended before checking, exactly as the send path does, so marketers test the copy they
write rather than the footer. Results are `{"id", "verdict", "findings"}`; a line of JSONL that
cannot be read gives `{"id", "error": "line N: …"}` instead, and every other line is still
checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from brand_guardrails.checker import CopyToCheck, check_message, verdict
from brand_guardrails.footer import apply_footer
from brand_guardrails.judge import judge
from brand_guardrails.kit import BrandKit
from core.models import Channel, Finding, Offer
from tools.llm import LLMClient, LLMError

_PREVIEW_UNSUBSCRIBE = "/u/preview"

JUDGE_NEEDS_AN_LLM = (
    "the LLM judge needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local "
    "OpenAI-compatible server such as vLLM, Ollama or LM Studio), or check without the judge"
)
"""The error when the judge is asked for and no LLM is configured."""


class JudgeUnavailable(ValueError):
    """The LLM judge was asked for, but no LLM is configured."""


def judge_available(llm: LLMClient | None) -> bool:
    """True when `llm` can run the judge (an OpenAI-compatible engine, not the offline one)."""
    return llm is not None and llm.engine == "openai"


class CheckRequest(BaseModel):
    """One piece of copy to check."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=200)
    """Your id for the message, echoed in the result (the line number when absent)."""
    channel: Channel | None = None
    """email, sms or push; the `--channel` default applies when absent."""
    subject: str | None = Field(default=None, max_length=1000)
    """Subject (e-mail) or title (push)."""
    body: str = Field(max_length=100_000)
    """The copy, without the compliance footer unless `footer` is false."""
    recipient: dict[str, str] | None = None
    """The recipient's own data placed by the template (`email`, `phone`, `first_name`, private
    trait values), so their own details are not flagged and private values are."""
    offer: Offer | None = None
    """The campaign's offer: its disclaimer is added and its thresholds apply."""
    footer: bool = True
    """Append the system's compliance footer before checking (false: check the text as is)."""
    judge: bool = False
    """Also ask the LLM judge (tone of voice, unsubstantiated claims); needs an LLM."""


class CheckResult(BaseModel):
    """The guardrails' verdict on one message."""

    id: str
    """The message's id."""
    verdict: Literal["pass", "warn", "block"]
    """`block` if any finding blocks, `warn` if any warns, else `pass`."""
    findings: list[Finding]
    """Every finding, with rule id, severity, span, explanation and suggested fix."""
    judged: bool = False
    """True when the LLM judge reviewed the message too (its findings are `judge.*`)."""


class CheckError(BaseModel):
    """A message that could not be read."""

    id: str | None
    """The message's id, when it could be read."""
    error: str
    """What is wrong, starting with `line N:` for JSONL input."""


def check_copy(
    kit: BrandKit, item: CheckRequest, *, default_id: str = "1", llm: LLMClient | None = None
) -> CheckResult:
    """Check one message (channel required by now); with `item.judge`, the LLM judge adds its
    findings (raises JudgeUnavailable without an LLM, LLMError when the call fails)."""
    if item.channel is None:
        raise ValueError("no channel: give `channel` (email, sms or push) or --channel")
    if item.judge and not judge_available(llm):
        raise JudgeUnavailable(JUDGE_NEEDS_AN_LLM)
    body = item.body
    links: tuple[str, ...] = ()
    if item.footer:
        unsubscribe = kit.site_url.rstrip("/") + _PREVIEW_UNSUBSCRIBE
        body = apply_footer(kit, item.channel, body, unsubscribe, offer=item.offer)
        links = (unsubscribe,)
    msg = CopyToCheck(
        channel=item.channel,
        subject=item.subject,
        body=body,
        offer=item.offer,
        system_links=links,
        recipient=item.recipient,
    )
    findings = check_message(kit, msg)
    if item.judge and llm is not None:
        findings += judge(llm, kit, msg)
    return CheckResult(
        id=item.id or default_id, verdict=verdict(findings), findings=findings, judged=item.judge
    )


def check_many(
    kit: BrandKit,
    items: Iterable[CheckRequest],
    *,
    channel: Channel | None = None,
    llm: LLMClient | None = None,
) -> list[CheckResult]:
    """Check several messages; `channel` fills in a missing channel, `llm` runs the judge
    on the messages that ask for it."""
    out: list[CheckResult] = []
    for n, item in enumerate(items, 1):
        if item.channel is None and channel is not None:
            item = item.model_copy(update={"channel": channel})
        out.append(check_copy(kit, item, default_id=str(n), llm=llm))
    return out


def check_jsonl(
    kit: BrandKit,
    lines: Iterable[str],
    *,
    channel: Channel | None = None,
    llm: LLMClient | None = None,
    judge_all: bool = False,
) -> Iterator[CheckResult | CheckError]:
    """Check JSONL input line by line; blank lines are skipped, bad lines give a CheckError.
    With `judge_all` every line is also judged by `llm` (else only lines with `"judge": true`);
    a judge call that fails gives that line a CheckError."""
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        ident: str | None = None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object per line")
            if isinstance(data.get("id"), (str, int)):
                ident = str(data["id"])
                data["id"] = ident
            item = CheckRequest.model_validate(data)
            if item.channel is None:
                if channel is None:
                    raise ValueError(
                        'no channel: add "channel": "email"|"sms"|"push" or pass --channel'
                    )
                item = item.model_copy(update={"channel": channel})
            if judge_all:
                item = item.model_copy(update={"judge": True})
            yield check_copy(kit, item, default_id=f"line-{n}", llm=llm)
        except json.JSONDecodeError as exc:
            yield CheckError(
                id=ident, error=f"line {n}: not valid JSON ({exc.msg}, column {exc.colno})"
            )
        except ValidationError as exc:
            yield CheckError(id=ident, error=f"line {n}: {_describe(exc)}")
        except ValueError as exc:
            yield CheckError(id=ident, error=f"line {n}: {exc}")
        except LLMError as exc:
            yield CheckError(id=ident, error=f"line {n}: the LLM judge failed: {exc}")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "message"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)
