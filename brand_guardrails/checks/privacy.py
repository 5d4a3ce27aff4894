"""Privacy: copy must not touch the brand's sensitive topics (health, money trouble, beliefs…)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.checks._text import fold, original_span, parts
from brand_guardrails.kit import BrandKit
from core.models import Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck


def topic_pattern(topic: str) -> str:
    """A regex for a topic: whole words, `*` at the end matches any ending, plurals allowed."""
    t = fold(topic).strip()
    star = t.endswith("*")
    words = t.rstrip("*").split()
    body = r"\s+".join(re.escape(w) for w in words)
    return body + (r"\w*" if star else r"(?:s|es)?\b")


@per_kit
def _compile(kit: BrandKit) -> tuple[re.Pattern[str] | None, list[str], tuple[str, ...]]:
    """The sensitive-topic alternation, the topic behind each group, pre-filter literals."""
    topics = list(kit.sensitive_topics)
    if not topics:
        return None, [], ()
    rx = re.compile(r"\b(?:" + "|".join(f"({topic_pattern(t)})" for t in topics) + ")")
    literals = tuple(
        max(reversed(fold(t).rstrip("*").split()), key=len) for t in topics if t.strip("* ")
    )
    return rx, topics, literals


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`privacy.sensitive_topic` for every sensitive topic mentioned."""
    rx, topics, literals = _compile(kit)
    if rx is None:
        return []
    out: list[Finding] = []
    for field, text in parts(msg):
        folded = fold(text)
        if not any(map(folded.__contains__, literals)):
            continue
        for m in rx.finditer(folded):
            topic = topics[(m.lastindex or 1) - 1]
            span = original_span(text, folded, m.start(), m.end())
            out.append(
                Finding(
                    rule_id="privacy.sensitive_topic",
                    severity=Severity.BLOCK,
                    span=span,
                    explanation=(
                        f"“{span}” touches a sensitive topic ({topic.rstrip('*')}); marketing "
                        "copy must not refer to or imply a person's health, finances, beliefs "
                        "or other sensitive traits."
                    ),
                    suggested_fix="Remove the reference; talk about the product, not the person.",
                    field=field,
                )
            )
    return out
