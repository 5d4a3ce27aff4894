"""Variant review before launch: every variant is rendered for preview people and checked.

Deterministic checks run on every preview rendering; with an LLM configured, the LLM judge adds
tone and claim findings on the first rendering (one call per variant, not per person). A
blocking finding sends the variant back to the content agent; the graph bounds how often.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.content import RenderedMessage, RenderError, preview_contexts, render_message
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.judge import judge
from brand_guardrails.kit import BrandKit
from core.models import Finding, Objective, Severity, VariantTemplate
from tools.llm import LLMClient, LLMInvalidAnswer, LLMUnavailable


def review_variant(
    kit: BrandKit,
    variant: VariantTemplate,
    objective: Objective,
    llm: LLMClient | None = None,
) -> list[Finding]:
    """All findings on a variant, rendered for each preview person (de-duplicated); with an
    `llm` on the OpenAI engine, plus the LLM judge's findings on the first rendering."""
    findings: dict[tuple[str, str | None, str], Finding] = {}
    for i, ctx in enumerate(preview_contexts(kit, objective)):
        try:
            msg = render_message(
                kit, variant, ctx, unsubscribe_url=_preview_url(kit), offer=objective.offer
            )
        except RenderError as exc:
            f = Finding(
                rule_id="tokens.template_error",
                severity=Severity.BLOCK,
                span=None,
                explanation=str(exc),
                suggested_fix="Use only the documented template variables and valid Jinja2.",
                field="message",
            )
            return [f]
        copy = CopyToCheck(
            channel=variant.channel, subject=msg.subject, body=msg.body, offer=objective.offer
        )
        found = check_message(kit, copy)
        if i == 0 and llm is not None:
            found += _judged(llm, kit, copy, _campaign_id(variant))
        for f in found:
            findings.setdefault((f.rule_id, f.span, f.field), f)
    for lang in sorted(variant.translations):  # each translation, checked in its language
        ctx = preview_contexts(kit, objective, language=lang)[0]
        local: RenderedMessage | None
        try:
            local = render_message(
                kit,
                variant,
                ctx,
                unsubscribe_url=_preview_url(kit),
                offer=objective.offer,
                language=lang,
            )
        except RenderError as exc:
            local = None
            found = [
                Finding(
                    rule_id="tokens.template_error",
                    severity=Severity.BLOCK,
                    explanation=str(exc),
                    suggested_fix="Use only the documented template variables and valid Jinja2.",
                    field="message",
                )
            ]
        if local is not None:
            copy = CopyToCheck(
                channel=variant.channel,
                subject=local.subject,
                body=local.body,
                offer=objective.offer,
                locale=local.language,
            )
            found = check_message(kit, copy)
        for f in found:
            f = f.model_copy(update={"explanation": f"({lang} translation) {f.explanation}"})
            findings.setdefault((f.rule_id, f.span, f.field), f)
    return list(findings.values())


def _judged(llm: LLMClient, kit: BrandKit, copy: CopyToCheck, cid: str | None) -> list[Finding]:
    """The judge's findings; when the model keeps answering invalidly or the endpoint stays
    unavailable, a warning that only the deterministic checks ran (and the fallback noted)."""
    try:
        return judge(llm, kit, copy, campaign_id=cid)
    except (LLMInvalidAnswer, LLMUnavailable) as exc:
        llm.note_fallback("judge_copy", cid, exc)
        return [
            Finding(
                rule_id="judge.unavailable",
                severity=Severity.WARN,
                span=None,
                explanation=(
                    "The LLM judge could not review this copy (its answers failed validation or "
                    "the endpoint kept failing): only the deterministic checks ran."
                ),
                suggested_fix="Read the copy for tone and claims before approving.",
                field="message",
            )
        ]


def _campaign_id(variant: VariantTemplate) -> str | None:
    """The campaign a variant belongs to (its id is `<campaign>:<step>:<arm>`)."""
    return variant.id.split(":", 1)[0] if ":" in variant.id else None


def _preview_url(kit: BrandKit) -> str:
    return kit.site_url.rstrip("/") + "/u/preview"


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that block a message."""
    return [f for f in findings if f.severity == Severity.BLOCK]
