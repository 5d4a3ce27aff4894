"""Deterministic guardrail checks, one module per family, and the one registry of families.

Each family module exposes `check(kit, msg) -> list[Finding]`. `FAMILIES` lists every family
once, in the order `check_message` reports them, with the per-line scans the fast engine
(`_engine.py`) shares between messages. Rule ids are `<family>.<rule>`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from brand_guardrails.checks import (
    banned,
    claims,
    email,
    injection,
    links,
    offers,
    privacy,
    sms,
    spam,
    tokens,
    voice,
)
from brand_guardrails.checks._cache import LineMemo
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding

Check = Callable[[BrandKit, CopyToCheck], list[Finding]]
"""A family's check of one whole message."""
LineScans = Callable[[BrandKit], LineMemo[Sequence[Finding]]]
"""A kit's memo of findings per line of text."""


@dataclass(frozen=True, slots=True)
class Family:
    """One check family, as the engine and the evals see it."""

    check: Check
    """All of the family's findings on one message."""
    content: bool
    """True if it judges what the copy says; False if it checks a channel's required
    structure (subject, footer, SMS segments)."""
    line_scans: tuple[LineScans, ...] = ()
    """Its line-local scans, in order; the engine memoises them per distinct line."""
    across_lines: tuple[LineScans, ...] = ()
    """Those of `line_scans` whose phrases may also span a line break (`act⏎now`)."""


FAMILIES: dict[str, Family] = {
    "tokens": Family(tokens.check, True, (tokens.line_memo,)),
    "banned": Family(banned.check, True, (banned.line_memo,), (banned.line_memo,)),
    "claims": Family(claims.check, True, (claims.line_memo,), (claims.line_memo,)),
    "offer": Family(offers.check, True),
    "email": Family(email.check, False),
    "sms": Family(sms.check, False),
    "links": Family(links.check, True, (links.line_memo,)),
    "privacy": Family(
        privacy.check, True, (privacy.topic_memo, privacy.pii_memo), (privacy.topic_memo,)
    ),
    "voice": Family(voice.check, True, (voice.avoid_memo,)),
    "spam": Family(spam.check, True),
    "injection": Family(injection.check, True, (injection.line_memo,), (injection.line_memo,)),
}
"""Family name (the rule-id prefix) → family, in report order."""
