"""SMS: brand name first, STOP opt-out, channel disclaimer, segment count (GSM-7 vs UCS-2)."""

from __future__ import annotations

import re

from brand_guardrails.checks._text import fold, squash
from brand_guardrails.footer import sms_prefix
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Channel, Finding, Severity
from tools.sms_encoding import GSM7_BASIC, GSM7_EXTENSION, segments

_ASCII_NON_GSM = frozenset(map(chr, range(128))) - GSM7_BASIC - GSM7_EXTENSION
_EXT_ASCII = "".join(sorted(c for c in GSM7_EXTENSION if c.isascii()))


def _segments(text: str) -> tuple[int, str, list[str]]:
    """`segments()` with a fast path for plain ASCII text (the common case)."""
    if text.isascii() and _ASCII_NON_GSM.isdisjoint(text):
        units = len(text) + sum(map(text.count, _EXT_ASCII))
        return (1 if units <= 160 else -(-units // 153)), "GSM-7", []
    return segments(text)


_OPT_OUT = re.compile(r"\b(?:reply|text|txt|send)\s+(?:the\s+word\s+)?[\"']?stop\b")


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`sms.brand_missing`, `sms.opt_out_missing`, `sms.disclaimer_missing`,
    `sms.too_many_segments` on SMS messages."""
    if msg.channel != Channel.SMS:
        return []
    rules = kit.channel_rules.sms
    out: list[Finding] = []
    folded = fold(msg.body)
    prefix = sms_prefix(kit).strip().rstrip(":")
    if rules.brand_prefix_required and not folded.lstrip().startswith(fold(prefix)):
        out.append(
            Finding(
                rule_id="sms.brand_missing",
                severity=Severity.BLOCK,
                span=msg.body[:20],
                explanation="Every SMS must start with the brand name so people know who texts.",
                suggested_fix=f"Start the message with “{sms_prefix(kit).strip()}” (apply_footer).",
                field="body",
            )
        )
    own = squash(rules.opt_out_text)  # the kit's opt-out in the message's language
    if not _OPT_OUT.search(folded) and not ("stop" in own and own in squash(msg.body)):
        out.append(
            Finding(
                rule_id="sms.opt_out_missing",
                severity=Severity.BLOCK,
                explanation="Every marketing SMS must tell people how to opt out.",
                suggested_fix=f"End the message with “{rules.opt_out_text}” (apply_footer).",
                field="body",
            )
        )
    required = kit.disclaimers.by_channel.get(Channel.SMS)
    if required and squash(required) not in squash(msg.body):
        out.append(
            Finding(
                rule_id="sms.disclaimer_missing",
                severity=Severity.BLOCK,
                explanation=f"Every SMS must carry: “{required}”.",
                suggested_fix="Append the compliance footer (apply_footer).",
                field="body",
            )
        )
    n, encoding, culprits = _segments(msg.body)
    if n > rules.max_segments:
        why = (
            f" The characters {' '.join(culprits)} force UCS-2 (70/67 characters per segment)."
            if culprits
            else ""
        )
        out.append(
            Finding(
                rule_id="sms.too_many_segments",
                severity=Severity.BLOCK,
                span="".join(culprits) or None,
                explanation=(
                    f"This SMS takes {n} {encoding} segments; the limit is {rules.max_segments}."
                    + why
                ),
                suggested_fix=(
                    "Shorten the copy (apply_footer transliterates accents and quotes)"
                    + (" and replace special characters (curly quotes, emoji)" if culprits else "")
                    + "."
                ),
                field="body",
            )
        )
    return out
