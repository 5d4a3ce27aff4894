"""Links: every URL or bare domain must be on one of the brand's allowed domains."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.checks._text import parts
from brand_guardrails.kit import BrandKit
from core.models import Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
_BARE = re.compile(
    r"(?<![@\w.\-/])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|net|org|io|co|ly|me|biz|info|xyz|shop|store|app|link|club|site|online|us|uk|ca|"
    r"de|gl|gd|to|tk|ru|cn|example)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""


@per_kit
def _allowed(kit: BrandKit) -> tuple[str, ...]:
    """Allowed domains, lower case."""
    return tuple(kit.allowed_link_domains)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """True if `host` is an allowed domain or one of its sub-domains."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in allowed)


def _host(link: str) -> str:
    if not re.match(r"https?://", link, re.IGNORECASE):
        link = "http://" + link
    try:
        return urlsplit(link).hostname or ""
    except ValueError:
        return ""


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`links.domain_not_allowed` for every link outside the allowed domains."""
    allowed = _allowed(kit)
    out: list[Finding] = []
    for field, text in parts(msg):
        if "." not in text:
            continue
        links = [m.group().rstrip(_TRAILING) for m in _URL.finditer(text)]
        rest = _URL.sub(" ", text)
        links += [m.group().rstrip(_TRAILING) for m in _BARE.finditer(rest)]
        for link in links:
            host = _host(link)
            if host and host_allowed(host, allowed):
                continue
            out.append(
                Finding(
                    rule_id="links.domain_not_allowed",
                    severity=Severity.BLOCK,
                    span=link,
                    explanation=(
                        f"The link goes to {host or 'an unreadable address'}, which is not one of "
                        f"{kit.name}'s domains ({', '.join(allowed) or 'none configured'})."
                    ),
                    suggested_fix=f"Link only to {', '.join(allowed)} (no shorteners or IPs).",
                    field=field,
                )
            )
    return out
