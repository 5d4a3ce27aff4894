"""E-mail (CAN-SPAM): unsubscribe link, postal address, honest subject line, channel text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.checks._text import fold, squash
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Channel, Finding, Severity

# Literal-led patterns: the regex engine finds their first characters fast.
_UNSUBSCRIBE = (
    re.compile(r"unsubscribe[^\n]{0,60}?https?://\S"),
    re.compile(r"opt[\s-]?out[^\n]{0,60}?https?://\S"),
    re.compile(r"manage\s+(?:your\s+)?preferences[^\n]{0,60}?https?://\S"),
    re.compile(r"https?://\S*(?:unsubscribe|/u/|optout|opt-out)"),
)
_FAKE_REPLY = re.compile(r"^\s*(?:re|fwd?|aw|wg|tr)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_AD_WORDS = re.compile(
    r"\badvertisement\b|\bthis is an? (?:ad|advert|promotion)\b|\bpromotional (?:e-?mail|message)\b"
    r"|\bmarketing e-?mail\b|\bsponsored\b"
)
_AD_SUBJECT = re.compile(r"^\s*(?:\[ad\]|\(ad\)|ad:|advertisement\b|anzeige\b|werbung\b)")
_ADDRESS = re.compile(r"<?([^<>\s]+@[^<>\s]+?)>?\s*$")


@dataclass(frozen=True, slots=True)
class _Kit:
    """What the e-mail checks compare every message with, derived from the kit once."""

    unsubscribe: re.Pattern[str]
    """The kit's own unsubscribe label followed by a link."""
    postal_address: str
    names: frozenset[str]
    from_email: str
    disclaimer: str | None
    ad_disclosure: str | None
    """The above, squashed, folded or lower-cased as the message text they are found in."""


@per_kit
def _kit(kit: BrandKit) -> _Kit:
    """The kit's e-mail constants (the per-kit cache keeps them)."""
    required = kit.disclaimers.by_channel.get(Channel.EMAIL)
    disclosure = kit.channel_rules.email.ad_disclosure
    return _Kit(
        unsubscribe=re.compile(
            re.escape(fold(kit.footer.unsubscribe)) + r"[^\n]{0,60}?https?://\S"
        ),
        postal_address=squash(kit.postal_address),
        names=frozenset({fold(kit.sender.from_name), fold(kit.name)}),
        from_email=kit.sender.from_email.lower(),
        disclaimer=squash(required) if required else None,
        ad_disclosure=squash(disclosure) if disclosure else None,
    )


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """CAN-SPAM findings on e-mail: `email.unsubscribe_missing`, `email.postal_address_missing`,
    `email.deceptive_subject`, `email.subject_missing`, `email.subject_too_long` (warn),
    `email.sender_identity_missing`, `email.sender_mismatch`, `email.ad_disclosure_missing`
    and `email.disclaimer_missing`."""
    if msg.channel != Channel.EMAIL:
        return []
    out: list[Finding] = []
    own = _kit(kit)
    folded = fold(msg.body)
    squashed = squash(msg.body)
    if not any(rx.search(folded) for rx in _UNSUBSCRIBE) and not own.unsubscribe.search(folded):
        out.append(
            Finding(
                rule_id="email.unsubscribe_missing",
                severity=Severity.BLOCK,
                explanation="Marketing e-mail must include a working unsubscribe link (CAN-SPAM).",
                suggested_fix="Append the compliance footer with the unsubscribe link.",
                field="body",
            )
        )
    if own.postal_address not in squashed:
        out.append(
            Finding(
                rule_id="email.postal_address_missing",
                severity=Severity.BLOCK,
                explanation=(
                    "Marketing e-mail must include the sender's valid physical postal address "
                    "(CAN-SPAM)."
                ),
                suggested_fix=f"Append the compliance footer; it adds “{kit.postal_address}”.",
                field="body",
            )
        )
    subject = msg.subject or ""
    if not subject.strip():
        out.append(
            Finding(
                rule_id="email.subject_missing",
                severity=Severity.BLOCK,
                explanation="An e-mail needs a subject line.",
                suggested_fix="Write a subject that says what the e-mail is about.",
                field="subject",
            )
        )
    else:
        fake = _FAKE_REPLY.match(fold(subject))
        if fake:
            out.append(
                Finding(
                    rule_id="email.deceptive_subject",
                    severity=Severity.BLOCK,
                    span=subject[: fake.end()].strip(),
                    explanation=(
                        "A reply/forward prefix pretends there was an earlier conversation; "
                        "CAN-SPAM forbids deceptive subject lines."
                    ),
                    suggested_fix="Remove the RE:/FWD: prefix.",
                    field="subject",
                )
            )
        limit = kit.channel_rules.email.subject_max_length
        if len(subject) > limit:
            out.append(
                Finding(
                    rule_id="email.subject_too_long",
                    severity=Severity.WARN,
                    span=subject[limit:],
                    explanation=f"The subject has {len(subject)} characters; the limit is {limit}.",
                    suggested_fix=f"Shorten the subject to {limit} characters or fewer.",
                    field="subject",
                )
            )
    out += _identity(kit, own, msg, folded, squashed)
    required = kit.disclaimers.by_channel.get(Channel.EMAIL)
    if own.disclaimer and own.disclaimer not in squashed:
        out.append(
            Finding(
                rule_id="email.disclaimer_missing",
                severity=Severity.BLOCK,
                explanation=f"Every e-mail must carry: “{required}”.",
                suggested_fix="Append the compliance footer (apply_footer).",
                field="body",
            )
        )
    return out


def _identity(
    kit: BrandKit, own: _Kit, msg: CopyToCheck, folded: str, squashed: str
) -> list[Finding]:
    """Sender identity (who sends it, honest From) and the ad disclosure."""
    out: list[Finding] = []
    if not any(n in folded for n in own.names):
        out.append(
            Finding(
                rule_id="email.sender_identity_missing",
                severity=Severity.BLOCK,
                explanation=(
                    "The e-mail does not say who sends it; CAN-SPAM requires the sender to be "
                    "identifiable (the footer names the sender)."
                ),
                suggested_fix=f"Append the compliance footer; it names {kit.sender.from_name}.",
                field="body",
            )
        )
    if msg.sender:
        m = _ADDRESS.search(msg.sender.strip())
        address = (m.group(1) if m else msg.sender).strip().lower()
        if address != own.from_email:
            out.append(
                Finding(
                    rule_id="email.sender_mismatch",
                    severity=Severity.BLOCK,
                    span=msg.sender,
                    explanation=(
                        f"The From header ({msg.sender}) is not the brand's sender "
                        f"({kit.sender.from_email}); false header information is illegal "
                        "(CAN-SPAM)."
                    ),
                    suggested_fix=f"Send from {kit.sender.from_name} <{kit.sender.from_email}>.",
                    field="message",
                )
            )
    disclosure = kit.channel_rules.email.ad_disclosure
    if own.ad_disclosure:
        disclosed = (
            own.ad_disclosure in squashed
            or bool(_AD_WORDS.search(folded))
            or bool(_AD_SUBJECT.match(fold(msg.subject or "")))
        )
        if not disclosed:
            out.append(
                Finding(
                    rule_id="email.ad_disclosure_missing",
                    severity=Severity.BLOCK,
                    explanation=(
                        "The e-mail does not identify itself as an advertisement, which "
                        f"{kit.name} requires (CAN-SPAM: identify the message as an ad)."
                    ),
                    suggested_fix=f"Append the compliance footer; it adds “{disclosure}”.",
                    field="body",
                )
            )
    return out
