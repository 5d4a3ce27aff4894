"""Links: every URL or bare domain must be on one of the brand's allowed domains."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.checks._text import parts
from brand_guardrails.kit import BrandKit
from core.models import Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck

_HTTP = re.compile(r"[hH][tT][tT][pP][sS]?://[^\s<>\"'()\[\]]+")
_WWW = re.compile(r"[wW][wW][wW]\.[^\s<>\"'()\[\]]+")
_TLDS = (
    "com|net|org|io|co|ly|me|biz|info|xyz|shop|store|app|link|club|site|online|us|uk|ca|"
    "de|gl|gd|to|tk|ru|cn|example"
)
_TLD_HINT = re.compile(rf"\.(?:{_TLDS})\b", re.IGNORECASE)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_PATH = re.compile(r"/[^\s<>\"']*")
_TRAILING = ".,;:!?)]}'\""


def _bare_domains(text: str, skip: list[tuple[int, int]]) -> list[str]:
    """Bare domains (`evil.com/x`) outside the given spans, not part of e-mail addresses."""
    out: list[str] = []
    for m in _TLD_HINT.finditer(text):
        end = m.end()
        if any(a <= m.start() < b for a, b in skip):
            continue
        start = m.start()
        while start > 0 and text[start - 1] in _HOST_CHARS:
            start -= 1
        host = text[start:end].strip(".-")
        if not host or host.startswith(".") or "." not in host or host.split(".")[0] == "":
            continue
        if start > 0 and text[start - 1] in "@/":
            continue
        path = _PATH.match(text, end)
        out.append(text[start : path.end() if path else end])
    return out


@per_kit
def _allowed(kit: BrandKit) -> tuple[str, ...]:
    """Allowed domains, lower case."""
    return tuple(kit.allowed_link_domains)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """True if `host` is an allowed domain or one of its sub-domains."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in allowed)


@lru_cache(maxsize=4096)
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
        urls = list(_HTTP.finditer(text)) if "://" in text else []
        if "www." in text or "WWW." in text:
            urls += [
                m
                for m in _WWW.finditer(text)
                if not any(a <= m.start() < b for a, b in (u.span() for u in urls))
            ]
        links = [m.group().rstrip(_TRAILING) for m in urls]
        links += [b.rstrip(_TRAILING) for b in _bare_domains(text, [m.span() for m in urls])]
        for link in links:
            if link in msg.system_links:
                continue
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
