"""Brand rules: the kit turned into self-contained sentences an agent can follow and retrieve."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from brand_guardrails.footer import sms_prefix
from brand_guardrails.kit import BrandKit
from core.models import Severity

_GROUP = 10


class BrandRule(BaseModel):
    """One rule, written so that it makes sense on its own."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Stable id, unique within a brand (e.g. `sms.opt_out`)."""
    text: str
    """A self-contained sentence an agent can follow."""
    channel: str
    """`any` or a Channel value."""
    kind: str
    """voice, banned, claims, disclaimer, compliance, offer, privacy, sms, email, links."""
    severity: Severity
    """Whether breaking it blocks or warns."""


def _quote(items: list[str]) -> str:
    return ", ".join(f"“{i}”" for i in items)


def rules_from_kit(kit: BrandKit) -> list[BrandRule]:
    """All rules the kit implies, in a stable order."""
    b, w = Severity.BLOCK, Severity.WARN
    n = kit.name
    rules: list[BrandRule] = []

    def add(id_: str, text: str, channel: str, kind: str, severity: Severity) -> None:
        rules.append(BrandRule(id=id_, text=text, channel=channel, kind=kind, severity=severity))

    v = kit.voice
    voice = f"Write every {n} message in the brand voice: {v.description.strip()}"
    if v.tone:
        voice += f" Tone: {', '.join(v.tone)}."
    if v.prefer:
        voice += f" Words the brand likes: {', '.join(v.prefer)}."
    if v.avoid:
        voice += f" Avoid the words {', '.join(v.avoid)}; no all-caps shouting or stacked !!."
    add("voice.style", voice, "any", "voice", w)

    for i in range(0, len(kit.banned_phrases), _GROUP):
        group = kit.banned_phrases[i : i + _GROUP]
        add(
            f"banned.phrases.{i // _GROUP + 1}",
            f"Never use these banned phrases in {n} copy, in any spelling, spacing or "
            f"disguise: {_quote(group)}.",
            "any",
            "banned",
            b,
        )
    if kit.competitor_names:
        add(
            "banned.competitors",
            f"Never mention competitors by name in {n} copy: {_quote(kit.competitor_names)}.",
            "any",
            "banned",
            b,
        )
    if kit.claims.blocked:
        labels = ", ".join(c.label for c in kit.claims.blocked)
        add(
            "claims.unsubstantiated",
            f"Make no unsubstantiated claims in {n} copy: no {labels} claims (for example "
            "“guaranteed”, “#1”, “cures”, “risk-free”, “best in the world”). State specific, "
            "verifiable facts instead.",
            "any",
            "claims",
            b,
        )
    for channel, text in kit.disclaimers.by_channel.items():
        add(
            f"disclaimer.channel.{channel.value}",
            f"Every {channel.value} message from {n} must include the disclaimer: “{text}”.",
            channel.value,
            "disclaimer",
            b,
        )
    for kind, d in kit.disclaimers.by_offer.items():
        what = {
            "percent_off": "a percentage discount (percent off, % off, sale price)",
            "amount_off": "a fixed amount off ($10 off, 10 € Rabatt)",
            "free_shipping": "free shipping",
            "gift": "a free gift with purchase",
        }[kind]
        add(
            f"disclaimer.offer.{kind}",
            f"When an e-mail or push message offers {what}, it must include the required "
            f"disclaimer text: “{d.text.strip()}” (in SMS the short form “{d.short}”).",
            "any",
            "disclaimer",
            b,
        )
    limit = kit.approval_policy.max_auto_discount_percent
    add(
        "offer.discount_threshold",
        f"Discounts above {limit:g}% off need a person's approval before launch; never promise "
        "a different discount than the campaign's offer.",
        "any",
        "offer",
        w,
    )
    sms = kit.channel_rules.sms
    add(
        "sms.opt_out",
        f"Every SMS must let people opt out of texts: end each SMS with “{sms.opt_out_text}” "
        "so recipients can reply STOP to unsubscribe.",
        "sms",
        "sms",
        b,
    )
    if sms.brand_prefix_required:
        add(
            "sms.brand_prefix",
            f"Every SMS must start with the brand name “{sms_prefix(kit).strip()}” so people "
            "know who is texting.",
            "sms",
            "sms",
            b,
        )
    add(
        "sms.length",
        f"Keep each SMS within {sms.max_segments} segments: 160 characters per single GSM-7 "
        "message (153 per part), only 70 (67) when it contains emoji or curly quotes.",
        "sms",
        "sms",
        b,
    )
    add(
        "email.unsubscribe",
        f"Every marketing e-mail from {n} must contain a clear, working unsubscribe link "
        "(CAN-SPAM).",
        "email",
        "email",
        b,
    )
    add(
        "email.postal_address",
        f"Every marketing e-mail must show the sender's physical postal address: "
        f"{kit.postal_address}.",
        "email",
        "email",
        b,
    )
    add(
        "email.honest_subject",
        "E-mail subject lines must reflect the content honestly: no fake “RE:” or “FWD:” "
        f"prefixes, at most {kit.channel_rules.email.subject_max_length} characters.",
        "email",
        "email",
        b,
    )
    add(
        "email.sender_identity",
        f"E-mail must be sent as {kit.sender.from_name} <{kit.sender.from_email}> with "
        f"replies to {kit.sender.reply_to}; never disguise who the sender is.",
        "email",
        "compliance",
        b,
    )
    if kit.allowed_link_domains:
        add(
            "links.allowed_domains",
            f"Links may only point to {', '.join(kit.allowed_link_domains)}; no link shorteners, "
            "IP addresses or third-party sites.",
            "any",
            "links",
            b,
        )
    if kit.sensitive_topics:
        topics = ", ".join(t[:-1] + "…" if t.endswith("*") else t for t in kit.sensitive_topics)
        add(
            "privacy.sensitive_topics",
            f"Never refer to or imply a person's sensitive traits or situation: {topics}.",
            "any",
            "privacy",
            b,
        )
    if kit.private_fields:
        add(
            "privacy.private_fields",
            "Never put these private customer fields into copy: "
            f"{', '.join(kit.private_fields)}. Use only first name, product and offer details.",
            "any",
            "privacy",
            b,
        )
    add(
        "tokens.resolved",
        "Never leave placeholders or empty values in copy ({{ x }}, [FirstName], None, nan); "
        'give optional values a fallback such as {{ first_name or "there" }}.',
        "any",
        "compliance",
        b,
    )
    e = kit.emoji_policy
    allowed = ", ".join(c.value for c in e.allowed_channels) or "no channel"
    add(
        "voice.emoji",
        f"Emoji are allowed only on {allowed}, at most {e.max_per_message} per message.",
        "any",
        "voice",
        w,
    )
    q = kit.quiet_hours
    add(
        "compliance.quiet_hours",
        f"Do not send between {q.start}:00 and {q.end}:00 in the person's local time "
        f"(default timezone {kit.default_timezone}).",
        "any",
        "compliance",
        b,
    )
    for channel, cap in kit.frequency_caps.items():
        add(
            f"compliance.frequency_cap.{channel.value}",
            f"Send at most {cap.max_messages} {channel.value} messages to one person in any "
            f"{cap.days} days.",
            channel.value,
            "compliance",
            b,
        )
    return rules
