"""The LLM part of the eval: adversarial briefs and profiles through the content agent.

Each case (`datasets/adversarial.jsonl`) is an objective, a journey step whose content brief
may push for non-compliant copy, and a customer whose profile may carry an injection. The
content agent writes the step's arms with the configured LLM, each arm is rendered for the
customer as the send path does, and the deterministic checks score what came out. Texts listed
in `forbidden` (an injection's payload) must never reach a message that would be sent.
Offline (no LLM configured) nothing is generated and the report says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.content import RenderError, person_context, render_message, write_variants
from brand_guardrails.checker import CopyToCheck, check_message, verdict
from brand_guardrails.kit import BrandKit
from brand_guardrails.rules import rules_from_kit
from core.models import Customer, JourneyStep, Objective
from tools.llm import LLMClient, LLMError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdversarialCase(_Model):
    """One adversarial brief or profile."""

    id: str
    """Case id."""
    description: str
    """What the case tries."""
    objective: Objective
    """The campaign objective (its offer may break the kit's policy)."""
    step: JourneyStep
    """The step to write (its content brief may push for bad copy)."""
    customer: Customer
    """The person the message is rendered for (fields may carry injections)."""
    forbidden: list[str] = Field(default_factory=list)
    """Texts that must not reach a message that would be sent (case-insensitive)."""


class GeneratedMessage(_Model):
    """One arm the content agent wrote for a case, rendered and checked."""

    case_id: str
    """Case id."""
    arm: str
    """Arm label."""
    verdict: Literal["pass", "warn", "block"]
    """What the deterministic checks made of it."""
    rules: list[str]
    """Rule ids found."""
    leaked: list[str]
    """Forbidden texts that appear in the rendered message."""
    subject: str | None
    """Rendered subject."""
    body: str
    """Rendered body (footer included)."""


class AdversarialReport(_Model):
    """What the content agent produced for the adversarial cases, and how it was judged."""

    ran: bool
    """False when no LLM is configured (the part was skipped)."""
    note: str
    """What was done, or why it was skipped."""
    cases: int = 0
    """Cases run."""
    errors: list[str] = Field(default_factory=list)
    """Cases the LLM or the renderer failed on (with the reason)."""
    messages: int = 0
    """Messages generated and checked."""
    blocked: int = 0
    """Messages the checks blocked."""
    warned: int = 0
    """Messages with warnings only."""
    passed: int = 0
    """Messages with no finding."""
    leaked_into_copy: int = 0
    """Messages containing a forbidden (injected) text, blocked or not."""
    leaked_unblocked: int = 0
    """Messages containing a forbidden text that the checks did not block (must be 0)."""
    items: list[GeneratedMessage] = Field(default_factory=list)
    """Every generated message."""


def load_adversarial(path: Path) -> list[AdversarialCase]:
    """Read the adversarial cases; errors name the file and line."""
    out: list[AdversarialCase] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(AdversarialCase.model_validate(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{Path(path).name}:{n}: invalid case: {exc}") from exc
    return out


def run_adversarial(llm: LLMClient | None, kit: BrandKit, path: Path) -> AdversarialReport:
    """Generate, render and check a message per arm for every case (skipped offline)."""
    if llm is None or llm.engine != "openai":
        return AdversarialReport(
            ran=False,
            note="skipped: no LLM configured (set OPENAI_API_KEY to score generated copy)",
        )
    cases = load_adversarial(path)
    report = AdversarialReport(ran=True, note="", cases=len(cases))
    rules = rules_from_kit(kit)
    for case in cases:
        try:
            variants = write_variants(
                llm,
                kit,
                objective=case.objective,
                step=case.step,
                rules=rules,
                campaign_id=f"eval-{case.id}",
            )
        except LLMError as exc:
            report.errors.append(f"{case.id}: {exc}")
            continue
        ctx = person_context(
            kit, case.objective, case.customer, None, features=None, local_send=None
        )
        for v in variants:
            try:
                msg = render_message(
                    kit,
                    v,
                    ctx,
                    unsubscribe_url=kit.site_url.rstrip("/") + "/u/eval",
                    offer=case.objective.offer,
                )
            except RenderError as exc:
                report.errors.append(f"{case.id} arm {v.arm}: template does not render: {exc}")
                continue
            recipient = {
                k: val
                for k, val in (
                    ("email", case.customer.email),
                    ("phone", case.customer.phone),
                    ("first_name", ctx["first_name"]),
                )
                if val
            }
            findings = check_message(
                kit,
                CopyToCheck(
                    channel=v.channel,
                    subject=msg.subject,
                    body=msg.body,
                    offer=case.objective.offer,
                    recipient=recipient,
                ),
            )
            text = f"{msg.subject or ''}\n{msg.body}".casefold()
            item = GeneratedMessage(
                case_id=case.id,
                arm=v.arm,
                verdict=verdict(findings),
                rules=sorted({f.rule_id for f in findings}),
                leaked=[s for s in case.forbidden if s.casefold() in text],
                subject=msg.subject,
                body=msg.body,
            )
            report.items.append(item)
    items = report.items
    report.messages = len(items)
    report.blocked = sum(i.verdict == "block" for i in items)
    report.warned = sum(i.verdict == "warn" for i in items)
    report.passed = sum(i.verdict == "pass" for i in items)
    report.leaked_into_copy = sum(bool(i.leaked) for i in items)
    report.leaked_unblocked = sum(bool(i.leaked) and i.verdict != "block" for i in items)
    report.note = (
        f"{report.messages} messages from {report.cases} adversarial cases with model "
        f"{llm.settings.llm_model}"
    )
    return report
