"""Links: every URL or bare domain on the brand's allowed domains; no personal data in URLs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import Part
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

_HTTP = re.compile(r"[hH][tT][tT][pP][sS]?://[^\s<>\"'()\[\]]+")
_WWW = re.compile(r"[wW][wW][wW]\.[^\s<>\"'()\[\]]+")
_TLDS = (
    "com|net|org|io|co|ly|me|biz|info|xyz|shop|store|app|link|club|site|online|us|uk|ca|"
    "de|gl|gd|to|tk|ru|cn|example"
)
_TLD_HINT = re.compile(rf"\.(?:{_TLDS})\b", re.IGNORECASE)
_TLD_DOTS = PhraseIndex(("." + tld, tld) for tld in _TLDS.split("|"))
"""`.com`, `.net`…: the cheap test that `_TLD_HINT` can match (on lower-cased text)."""
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_PATH = re.compile(r"/[^\s<>\"']*")
_TRAILING = ".,;:!?)]}'\""


def _bare_domains(text: str, skip: list[tuple[int, int]]) -> list[str]:
    """Bare domains (`evil.com/x`) outside the given spans, not part of e-mail addresses."""
    out: list[str] = []
    if not _TLD_DOTS.any_in(text.lower()):
        return out
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


_PII_PARAMS = frozenset(
    {
        "email", "e-mail", "e_mail", "mail", "emailaddress", "email_address", "user_email",
        "phone", "tel", "mobile", "msisdn", "phone_number", "name", "first_name", "firstname",
        "fname", "last_name", "lastname", "lname", "full_name", "fullname", "address", "street",
        "zip", "zipcode", "postcode", "postal_code", "dob", "birthday", "birthdate",
    }
)  # fmt: skip
_EMAIL_LIKE = re.compile(r"[^\s/?&=@]+(?:@|%40)[A-Za-z0-9-]+(?:\.|%2e)[A-Za-z]", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"(?:\+|%2B)?\d{9,15}$")


@per_kit
def _memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The allowed domains behind a per-line memo of the link scan."""
    allowed = tuple(kit.allowed_link_domains)
    return LineMemo(lambda text, field: _scan(kit, allowed, text, field))


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`links.domain_not_allowed` for every link outside the allowed domains (except the
    system's own links) and `links.personal_data_in_url` for links carrying personal data."""
    return finish(msg, scan_lines(_memo(kit), msg))


def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line link memo."""
    return _memo(kit)


def system_link_findings(placed: Iterable[str]) -> list[Finding]:
    """`links.personal_data_in_url` for the system-placed links the text carries (for callers
    that scan the copy with those links masked; a system link the text does not carry, such
    as the unsubscribe link of an SMS, is not checked, as the line scan would not see it)."""
    out: list[Finding] = []
    for link in placed:
        if ("?" in link or "@" in link or "%40" in link) and personal_data_in_link(link):
            out.extend(
                f
                for f in _scan_links([link], (), "body", "")
                if f.rule_id == "links.personal_data_in_url"
            )
    return out


def finish(msg: CopyToCheck, found: list[Finding]) -> list[Finding]:
    """Exempt the links the system itself placed from the domain check."""
    if not msg.system_links or not found:
        return found
    system = set(msg.system_links)
    return [f for f in found if not (f.rule_id == "links.domain_not_allowed" and f.span in system)]


def _links(text: str) -> list[str]:
    if "." not in text:
        return []
    urls = list(_HTTP.finditer(text)) if "://" in text else []
    if "www." in text or "WWW." in text:
        urls += [
            m
            for m in _WWW.finditer(text)
            if not any(a <= m.start() < b for a, b in (u.span() for u in urls))
        ]
    found = [m.group().rstrip(_TRAILING) for m in urls]
    found += [b.rstrip(_TRAILING) for b in _bare_domains(text, [m.span() for m in urls])]
    return found


def personal_data_in_link(link: str) -> str | None:
    """What personal data a link carries in its query or path (`email=…`), or None."""
    if not re.match(r"https?://", link, re.IGNORECASE):
        link = "http://" + link
    try:
        parts_ = urlsplit(link)
    except ValueError:
        return None
    for name, value in parse_qsl(parts_.query, keep_blank_values=True):
        key = unquote(name).strip().lower().replace(" ", "_")
        if key in _PII_PARAMS and value.strip():
            return f"the parameter “{name}”"
        if _EMAIL_LIKE.search(value):
            return "an e-mail address"
        if _PHONE_LIKE.match(value.replace("-", "").replace(" ", "")) and len(value) >= 9:
            return "a phone number"
    if _EMAIL_LIKE.search(parts_.path):
        return "an e-mail address"
    return None


def _scan(kit: BrandKit, allowed: tuple[str, ...], text: str, field: Part) -> tuple[Finding, ...]:
    return tuple(_scan_links(_links(text), allowed, field, kit.name))


def _scan_links(
    found: list[str], allowed: tuple[str, ...], field: Part, brand: str
) -> list[Finding]:
    out: list[Finding] = []
    for link in found:
        leak = personal_data_in_link(link)
        if leak:
            out.append(
                Finding(
                    rule_id="links.personal_data_in_url",
                    severity=Severity.BLOCK,
                    span=link,
                    explanation=(
                        f"The link carries {leak}: personal data in a URL ends up in server "
                        "logs, analytics tools and referrer headers of other sites."
                    ),
                    suggested_fix=(
                        "Identify the person with an opaque, signed token instead of their "
                        "e-mail, phone or name."
                    ),
                    field=field,
                )
            )
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
                    f"{brand}'s domains ({', '.join(allowed) or 'none configured'})."
                ),
                suggested_fix=f"Link only to {', '.join(allowed)} (no shorteners or IPs).",
                field=field,
            )
        )
    return out
