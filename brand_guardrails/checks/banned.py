"""Banned phrases and competitor names, robust to case, look-alikes and `f.r.e.e` spacing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import (
    Part,
    fold,
    original_span,
    phrase_pattern,
    phrase_skeleton,
    phrase_variants,
    skeletons,
)
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity


@dataclass(frozen=True)
class _Phrases:
    """One alternation (a group per phrase variant) and its phrases' skeletons, one of
    which is in the text's skeletons whenever the alternation can match."""

    rx: re.Pattern[str]
    owners: list[str]
    skeletons: PhraseIndex[str]
    always: bool
    """Some phrase has no Latin skeleton (Japanese): the alternation runs on every line."""


def _alternation(names: list[str], variants: bool) -> _Phrases | None:
    groups: list[str] = []
    owners: list[str] = []
    skels: list[str] = []
    for name in names:
        for v in phrase_variants(name) if variants else [name]:
            groups.append(f"({phrase_pattern(v)})")
            owners.append(name)
            skels.append(phrase_skeleton(v))
    if not groups:
        return None
    return _Phrases(
        re.compile("|".join(groups)),
        owners,
        PhraseIndex((s, s) for s in skels),
        always=not all(skels),
    )


@per_kit
def _memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's banned-phrase and competitor patterns, behind a per-line memo."""
    phrases = _alternation(kit.banned_phrases, False)
    competitors = _alternation(kit.competitor_names, True)
    return LineMemo(lambda text, field: _scan(kit, phrases, competitors, text, field))


def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line banned memo."""
    return _memo(kit)


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """Findings for banned phrases (`banned.phrase`) and competitor names (`banned.competitor`)."""
    return scan_lines(_memo(kit), msg, across_lines=True)


def _scan(
    kit: BrandKit,
    phrases: _Phrases | None,
    competitors: _Phrases | None,
    text: str,
    field: Part,
) -> tuple[Finding, ...]:
    out: list[Finding] = []
    folded = fold(text)
    skel = "\x00".join(skeletons(folded))
    for pats, rule, what in (
        (phrases, "banned.phrase", "a banned phrase"),
        (competitors, "banned.competitor", "a competitor"),
    ):
        if pats is None or not (pats.always or pats.skeletons.any_in(skel)):
            continue
        seen: set[str] = set()
        for m in pats.rx.finditer(folded):
            name = pats.owners[(m.lastindex or 1) - 1]
            if name in seen:
                continue
            seen.add(name)
            span = original_span(text, folded, m.start(), m.end())
            disguised = fold(span) != fold(name) and span.lower() != name.lower()
            out.append(
                Finding(
                    rule_id=rule,
                    severity=Severity.BLOCK,
                    span=span,
                    explanation=(
                        f"“{span}” is {what} for {kit.name} (“{name}”)"
                        + (", written in disguise." if disguised else ".")
                    ),
                    suggested_fix=(
                        "Remove the competitor's name; talk about our own gear."
                        if rule == "banned.competitor"
                        else f"Remove “{name}” and say it in the brand's own words."
                    ),
                    field=field,
                )
            )
    return tuple(out)
