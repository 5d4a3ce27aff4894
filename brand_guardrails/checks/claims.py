"""Unsubstantiated claims (guarantees, #1, cures, risk-free, superlatives) from the kit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._text import Part, fold, original_span, required_literals
from brand_guardrails.kit import BrandKit, ClaimPattern
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .*_-]{1,2}){3,}[^\W\d_](?![^\W\d_])")
"""A word spelt out letter by letter (`g u a r a n t e e d`, `c.u.r.e`)."""


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
        (claim, m.start(), original_span(text, folded, m.start(), m.end()))
        for claim, rx, lits in pats.claims
        if lits is None or any(map(folded.__contains__, lits))
        for m in rx.finditer(folded)
    ]
    if any(c in folded for c in " .*_-"):
        hits += _spaced_hits(pats, folded)
    out: list[Finding] = []
    for claim, _, span in sorted(hits, key=lambda h: h[1]):
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


def _spaced_hits(pats: _Patterns, folded: str) -> list[tuple[ClaimPattern, int, str]]:
    """Claims hidden by spelling a word out letter by letter, matched with the letters
    joined; the span is the spelt-out text."""
    out: list[tuple[ClaimPattern, int, str]] = []
    for run in _SPACED.finditer(folded):
        joined = "".join(ch for ch in run.group() if ch.isalpha())
        window = folded[max(0, run.start() - 30) : run.start()] + joined
        window += folded[run.end() : run.end() + 30]
        offset = min(run.start(), 30)
        for claim, rx, _ in pats.claims:
            for m in rx.finditer(window):
                if m.start() < offset + len(joined) and m.end() > offset:
                    out.append((claim, run.start(), run.group()))
    return out
