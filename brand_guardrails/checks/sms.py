"""SMS: brand name first, STOP opt-out, channel disclaimer, segment count (GSM-7 vs UCS-2)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from brand_guardrails.checks._text import fold
from brand_guardrails.footer import sms_prefix
from brand_guardrails.kit import BrandKit
from core.models import Channel, Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""Characters of the GSM 03.38 basic set (one septet each)."""
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Characters of the GSM 03.38 extension table (two septets each)."""

_OPT_OUT = re.compile(r"\b(?:reply|text|txt|send)\s+(?:the\s+word\s+)?[\"']?stop\b")
_SPACES = re.compile(r"\s+")


def segments(text: str) -> tuple[int, str, list[str]]:
    """(segment count, encoding, characters forcing UCS-2) for an SMS text."""
    non_gsm = [c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION]
    if not non_gsm:
        units = len(text) + sum(1 for c in text if c in GSM7_EXTENSION)
        return (1 if units <= 160 else math.ceil(units / 153)), "GSM-7", []
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2", sorted(set(non_gsm))


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
    if not _OPT_OUT.search(folded):
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
    if required and _SPACES.sub(" ", fold(required)).strip() not in _SPACES.sub(" ", folded):
        out.append(
            Finding(
                rule_id="sms.disclaimer_missing",
                severity=Severity.BLOCK,
                explanation=f"Every SMS must carry: “{required}”.",
                suggested_fix="Append the compliance footer (apply_footer).",
                field="body",
            )
        )
    n, encoding, culprits = segments(msg.body)
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
                    "Shorten the copy"
                    + (" and replace special characters (curly quotes, emoji)" if culprits else "")
                    + "."
                ),
                field="body",
            )
        )
    return out
