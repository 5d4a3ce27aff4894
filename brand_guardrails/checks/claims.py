"""Unsubstantiated claims (guarantees, #1, cures, risk-free, superlatives) from the kit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._text import Part, fold, original_span, required_literals
from brand_guardrails.kit import BrandKit, ClaimPattern
from core.models import Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck


@dataclass(frozen=True)
class _Patterns:
    claims: list[tuple[ClaimPattern, re.Pattern[str], tuple[str, ...] | None]]
    allowed: re.Pattern[str] | None


def _compile(kit: BrandKit) -> _Patterns:
    """Each claim pattern with the literals that pre-filter it."""
    claims = [
        (c, re.compile(c.pattern, re.IGNORECASE), required_literals(c.pattern))
        for c in kit.claims.blocked
    ]
    allowed = (
        re.compile("|".join(re.escape(fold(p)) for p in kit.claims.allowed_phrases))
        if kit.claims.allowed_phrases
        else None
    )
    return _Patterns(claims, allowed)


@per_kit
def _memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's claim patterns behind a per-line memo."""
    pats = _compile(kit)
    return LineMemo(lambda text, field: _scan(kit, pats, text, field))


def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line claims memo."""
    return _memo(kit)


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`claims.unsubstantiated` for every blocked claim in subject or body."""
    return scan_lines(_memo(kit), msg, across_lines=True)


def _scan(kit: BrandKit, pats: _Patterns, text: str, field: Part) -> tuple[Finding, ...]:
    folded = fold(text)
    if pats.allowed is not None:
        folded = pats.allowed.sub(lambda m: " " * len(m.group()), folded)
    hits = [
        (claim, m)
        for claim, rx, lits in pats.claims
        if lits is None or any(map(folded.__contains__, lits))
        for m in rx.finditer(folded)
    ]
    out: list[Finding] = []
    for claim, m in sorted(hits, key=lambda h: h[1].start()):
        span = original_span(text, folded, m.start(), m.end())
        out.append(
            Finding(
                rule_id="claims.unsubstantiated",
                severity=Severity.BLOCK,
                span=span,
                explanation=(
                    f"“{span}” is an unsubstantiated {claim.label} claim; {kit.name} "
                    "cannot back it up in every case."
                ),
                suggested_fix=claim.fix,
                field=field,
            )
        )
    return tuple(out)
