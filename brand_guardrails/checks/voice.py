"""Voice: words the brand avoids, emoji policy, shouting (warnings, not blocks)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.checks._text import fold, original_span, parts
from brand_guardrails.kit import BrandKit
from core.models import Finding, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\U0001f1e6-\U0001f1ff]"
)
_CAPS = re.compile(r"[A-Z]{4,}")
_EXCLAIM = re.compile(r"!{2,}|\?!|!\?")
_CAPS_OK = frozenset({"STOP", "HELP", "USD", "FAQ", "HTTP", "HTTPS", "GORE", "NASA"})


@per_kit
def _avoid(kit: BrandKit) -> tuple[re.Pattern[str] | None, list[str], tuple[str, ...]]:
    """The avoid-word alternation, the word behind each group, and the folded words."""
    words = list(kit.voice.avoid)
    if not words:
        return None, [], ()
    folded = tuple(fold(w) for w in words)
    return (
        re.compile(r"\b(?:" + "|".join(rf"({re.escape(w)}\b)" for w in folded) + ")"),
        words,
        folded,
    )


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`voice.avoid_word`, `voice.emoji`, `voice.shouting` (all warnings)."""
    rx, words, folded_words = _avoid(kit)
    caps_ok = _CAPS_OK | {w.upper() for w in kit.name.split()}
    out: list[Finding] = []
    emoji_count = 0
    emoji_seen: list[str] = []
    for field, text in parts(msg):
        folded = fold(text)
        if rx is not None and any(map(folded.__contains__, folded_words)):
            for m in rx.finditer(folded):
                word = words[(m.lastindex or 1) - 1]
                out.append(
                    Finding(
                        rule_id="voice.avoid_word",
                        severity=Severity.WARN,
                        span=original_span(text, folded, m.start(), m.end()),
                        explanation=f"{kit.name}'s voice avoids “{word}”.",
                        suggested_fix="Use plain, practical words (see the brand voice).",
                        field=field,
                    )
                )
        if not text.isascii():
            found = _EMOJI.findall(text)
            emoji_count += len([e for e in found if e != "\ufe0f"])
            emoji_seen += found
        shouted = [
            m.group()
            for m in _CAPS.finditer(text)
            if m.group() not in caps_ok
            and not (m.start() and text[m.start() - 1].isalnum())
            and not (m.end() < len(text) and text[m.end()].isalnum())
        ]
        bangs = _EXCLAIM.search(text) if ("!" in text or "?" in text) else None
        if len(shouted) >= 2 or bangs:
            out.append(
                Finding(
                    rule_id="voice.shouting",
                    severity=Severity.WARN,
                    span=" ".join(shouted[:3]) or (bangs.group() if bangs else None),
                    explanation="Capitals and stacked punctuation shout; the brand voice is calm.",
                    suggested_fix="Write in sentence case with a single exclamation mark at most.",
                    field=field,
                )
            )
    policy = kit.emoji_policy
    allowed = msg.channel in policy.allowed_channels
    limit = policy.max_per_message if allowed else 0
    if emoji_count > limit:
        out.append(
            Finding(
                rule_id="voice.emoji",
                severity=Severity.WARN,
                span="".join(emoji_seen),
                explanation=(
                    f"{emoji_count} emoji; {kit.name} allows "
                    + (
                        f"at most {limit} on {msg.channel.value}."
                        if allowed
                        else f"none on {msg.channel.value}."
                    )
                ),
                suggested_fix="Remove the emoji.",
                field="message",
            )
        )
    return out
