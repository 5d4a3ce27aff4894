"""Privacy: sensitive traits attributed to the reader (the creep guard, `creep.py`), personal
data of anyone but the recipient, and values of the recipient's private fields."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._text import Part, fold, parts, squash
from brand_guardrails.checks.creep import CreepGuard
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

CONTACT_FIELDS = frozenset({"email", "phone"})
"""Recipient fields that may appear in their own message (e.g. `sent to you at …`)."""

_EMAIL = re.compile(
    r"(?<![\w.+/:-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)[\s.-]?|\d{3}[\s.-])\d{3}[\s.-]?\d{4}(?![\w-])"
    r"|(?<![\w+])\+\d{1,3}[\s.-]?\d{2,4}[\s.-]?\d{3,4}[\s.-]?\d{3,4}(?![\w-])"
)
_STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][a-z]+\.?\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|"
    r"Way|Boulevard|Blvd|Court|Ct|Place|Pl|Terrace|Circle|Parkway|Pkwy|Highway|Hwy|Straße|"
    r"Strasse|Weg|Allee)\b\.?"
)
_DIGITS = re.compile(r"\D")
_NOT_DIGIT = bytes(c for c in range(256) if not chr(c).isdigit())
"""Bytes to delete to count the ASCII digits of ASCII-encoded text."""


def topic_pattern(topic: str) -> str:
    """A regex for a topic: whole words, `*` at the end matches any ending, plurals allowed."""
    t = fold(topic).strip()
    star = t.endswith("*")
    words = t.rstrip("*").split()
    body = r"\s+".join(re.escape(w) for w in words)
    return body + (r"\w*" if star else r"(?:s|es)?\b")


@per_kit
def creep_guard(kit: BrandKit) -> CreepGuard:
    """The creep guard with the kit's own sensitive topics."""
    return CreepGuard([topic_pattern(t) for t in kit.sensitive_topics if t.strip("* ")])


@per_kit
def _topic_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The creep guard behind a per-line memo."""
    guard = creep_guard(kit)
    return LineMemo(lambda text, field: _scan_topics(guard, text, field))


@dataclass(frozen=True)
class _Own:
    """The brand's own contact points, which copy may always carry."""

    domains: frozenset[str]
    emails: frozenset[str]
    phones: frozenset[str]
    addresses: tuple[str, ...]


@per_kit
def _pii_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The brand's own contact points (exempt) behind a per-line memo of the PII scan."""
    domains = {d.lower() for d in kit.allowed_link_domains}
    for addr in (kit.sender.from_email, kit.sender.reply_to):
        domains.add(addr.rsplit("@", 1)[-1].lower())
    own = _Own(
        frozenset(domains),
        frozenset(e.strip().lower() for e in kit.contact.emails),
        frozenset(_normalise(p) for p in kit.contact.phones),
        tuple(_street_key(a) for a in (kit.postal_address, *kit.contact.addresses)),
    )
    return LineMemo(lambda text, field: _scan_pii(own, text, field))


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`privacy.sensitive_topic` (a sensitive trait attributed to the reader: `creep.py`),
    `privacy.personal_data` (someone's e-mail, phone or street
    address that is not the recipient's own) and `privacy.private_field` (a value of one of
    the recipient's private traits)."""
    out = scan_lines(_topic_memo(kit), msg, across_lines=True)
    out += scan_lines(_pii_memo(kit), msg)
    return finish(kit, msg, out)


def topic_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line sensitive-topic memo (phrases may cross lines)."""
    return _topic_memo(kit)


def pii_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line personal-data memo."""
    return _pii_memo(kit)


def finish(kit: BrandKit, msg: CopyToCheck, found: list[Finding]) -> list[Finding]:
    """Drop the recipient's own contact details from line findings; add private values."""
    if not msg.recipient:
        return found
    if any(f.rule_id == "privacy.personal_data" for f in found):
        own = _own_contact(msg.recipient)
        found = [
            f
            for f in found
            if not (f.rule_id == "privacy.personal_data" and _normalise(f.span or "") in own)
        ]
    return found + _private_values(kit, msg)


def _normalise(value: str) -> str:
    if "@" in value:
        return value.strip().lower()
    digits = _DIGITS.sub("", value)
    return digits[-10:] if len(digits) >= 7 else value.strip().lower()


def _own_contact(recipient: dict[str, str]) -> set[str]:
    return {_normalise(str(recipient[k])) for k in CONTACT_FIELDS if recipient.get(k)}


def _scan_topics(guard: CreepGuard, text: str, field: Part) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            rule_id="privacy.sensitive_topic",
            severity=Severity.BLOCK,
            span=a.span,
            explanation=(
                f"“{a.span}” attributes a sensitive trait to the reader ({a.category}; {a.how}); "
                "marketing copy must not state or imply a person's health, pregnancy, "
                "children, beliefs, sexuality, ethnicity, finances, whereabouts or age."
            ),
            suggested_fix=(
                "Talk about the product, not the person: drop the reference to the reader, "
                'or say it neutrally ("our maternity range", not "expecting a baby?").'
            ),
            field=field,
        )
        for a in guard.scan(text)
    )


def _scan_pii(own: _Own, text: str, field: Part) -> tuple[Finding, ...]:
    out: list[Finding] = []
    if "@" in text:
        for m in _EMAIL.finditer(text):
            domain = m.group().rsplit("@", 1)[1].lower()
            if any(domain == d or domain.endswith("." + d) for d in own.domains):
                continue
            if m.group().lower() in own.emails:
                continue
            out.append(_personal(m.group(), "an e-mail address", field))
    digits = len(text.encode("ascii", "ignore").translate(None, _NOT_DIGIT))
    for m in _PHONE.finditer(text) if digits >= 9 else ():
        if len(_DIGITS.sub("", m.group())) >= 9 and _normalise(m.group()) not in own.phones:
            out.append(_personal(m.group(), "a phone number", field))
    for m in _STREET.finditer(text) if digits else ():
        street = _street_key(m.group())
        if not any(street in a for a in own.addresses):
            out.append(_personal(m.group(), "a street address", field))
    return tuple(out)


_STREET_ABBREVIATIONS = {
    "st": "street", "ave": "avenue", "rd": "road", "ln": "lane", "dr": "drive",
    "blvd": "boulevard", "ct": "court", "pl": "place", "pkwy": "parkway", "hwy": "highway",
    "str": "strasse",
}  # fmt: skip


def _street_key(address: str) -> str:
    """An address in a comparable form: folded, punctuation dropped, `St.` read as `street`."""
    words = squash(address).replace(".", " ").replace(",", " ").split()
    return " ".join(_STREET_ABBREVIATIONS.get(w, w) for w in words)


def _personal(span: str, what: str, field: Part) -> Finding:
    return Finding(
        rule_id="privacy.personal_data",
        severity=Severity.BLOCK,
        span=span,
        explanation=(
            f"“{span}” is {what} of a person; copy may carry only the recipient's own contact "
            "details, placed by the template, and the brand's own addresses."
        ),
        suggested_fix="Remove it; never paste anyone's contact details into marketing copy.",
        field=field,
    )


@per_kit
def _private_keys(kit: BrandKit) -> frozenset[str]:
    """The kit's private field names (lower case) that may not reach copy (contact fields may)."""
    return frozenset(f.lower() for f in kit.private_fields) - CONTACT_FIELDS


def _private_values(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    assert msg.recipient is not None
    private = _private_keys(kit)
    out: list[Finding] = []
    texts: list[tuple[Part, str]] | None = None  # folded only when a value is to be looked for
    for key, raw in msg.recipient.items():
        if key.lower() not in private:
            continue
        value = fold(str(raw)).strip()
        if len(value) < 3 or (value.isdigit() and len(value) < 4):
            continue  # "34", "f": too short to tell from ordinary copy ("34 L", "30% off")
        if texts is None:
            texts = [(field, fold(text)) for field, text in parts(msg)]
        for field, folded in texts:
            if value in folded and re.search(r"(?<!\w)" + re.escape(value) + r"(?!\w)", folded):
                out.append(
                    Finding(
                        rule_id="privacy.private_field",
                        severity=Severity.BLOCK,
                        span=str(raw),
                        explanation=(
                            f"The copy contains the recipient's {key} (“{raw}”), a field "
                            f"{kit.name} marks as private: it must never reach copy."
                        ),
                        suggested_fix=f"Remove the {key}; use only the documented variables.",
                        field=field,
                    )
                )
                break
    return out
