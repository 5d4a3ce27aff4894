"""Deterministic guardrail checks, one module per family.

Each module exposes `check(kit, msg) -> list[Finding]`; `FAMILIES` maps family name to it, in
the order `check_message` runs them. Rule ids are `<family>.<rule>`.
"""

from __future__ import annotations

from collections.abc import Callable

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import (
    banned,
    claims,
    email,
    links,
    offers,
    privacy,
    sms,
    spam,
    tokens,
    voice,
)
from brand_guardrails.kit import BrandKit
from core.models import Finding

Check = Callable[[BrandKit, CopyToCheck], list[Finding]]

FAMILIES: dict[str, Check] = {
    "tokens": tokens.check,
    "banned": banned.check,
    "claims": claims.check,
    "offer": offers.check,
    "email": email.check,
    "sms": sms.check,
    "links": links.check,
    "privacy": privacy.check,
    "voice": voice.check,
    "spam": spam.check,
}
"""Family name (the rule-id prefix) → check function."""

CONTENT_FAMILIES: frozenset[str] = frozenset(
    {"tokens", "banned", "claims", "offer", "links", "privacy", "voice", "spam"}
)
"""Families that judge what the copy says, not the channel's required structure."""
