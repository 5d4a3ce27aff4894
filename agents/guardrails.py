"""The guardrails step: every variant is rendered for preview people and checked before launch.

A blocking finding sends the variant back to the content agent; the graph bounds how often.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.content import RenderError, preview_contexts, render_message
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.kit import BrandKit
from core.models import Finding, Objective, Severity, VariantTemplate


def review_variant(kit: BrandKit, variant: VariantTemplate, objective: Objective) -> list[Finding]:
    """All findings on a variant, rendered for each preview person (de-duplicated)."""
    findings: dict[tuple[str, str | None, str], Finding] = {}
    for ctx in preview_contexts(kit, objective):
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
        for f in check_message(
            kit,
            CopyToCheck(
                channel=variant.channel, subject=msg.subject, body=msg.body, offer=objective.offer
            ),
        ):
            findings.setdefault((f.rule_id, f.span, f.field), f)
    return list(findings.values())


def _preview_url(kit: BrandKit) -> str:
    return kit.site_url.rstrip("/") + "/u/preview"


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that block a message."""
    return [f for f in findings if f.severity == Severity.BLOCK]
