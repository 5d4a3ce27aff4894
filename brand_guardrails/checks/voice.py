"""Voice: words the brand avoids, emoji policy, shouting (capitals, exclamation marks),
reading level and length against the kit (all warnings, not blocks)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from brand_guardrails.checks import readability
from brand_guardrails.checks._cache import LineMemo, lines, per_kit, scan_lines
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import Part, fold, original_span, parts
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Channel, Finding, Severity

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\U0001f1e6-\U0001f1ff]"
)
_CAPS = re.compile(r"[A-Z]{4,}")
_NOT_LETTER = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isalpha())
_NOT_UPPER = bytes(c for c in range(256) if not chr(c).isascii() or not chr(c).isupper())
"""Bytes to delete to count the ASCII letters (capital letters) of ASCII-encoded text."""
_EXCLAIM = re.compile(r"!{2,}|\?!|!\?")
_CAPS_OK = frozenset({"STOP", "HELP", "USD", "FAQ", "HTTP", "HTTPS", "GORE", "NASA"})
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_VOWELS = re.compile(r"[aeiouy]+")
_URL = re.compile(r"\S+://\S+|\S+@\S+")


class LineStats(NamedTuple):
    """What voice needs to know about one line."""

    letters: int
    """Letters of any script (outside links)."""
    upper: int
    """Capital ASCII letters (outside links)."""
    shouted: tuple[str, ...]
    """All-caps words of four or more letters that are not known acronyms."""
    bang_run: str | None
    """The first `!!`, `?!` or `!?`."""
    exclamations: int
    """Exclamation marks."""
    emoji: tuple[str, ...]
    """Emoji characters (variation selectors included)."""
    words: int
    """Words (outside links)."""
    sentences: int
    """Sentences (a line without an end mark counts as one)."""
    syllables: int
    """Estimated syllables."""


@lru_cache(maxsize=65536)
def syllables(word: str) -> int:
    """An estimate of a word's syllables (vowel groups, silent final e); memoised, since
    copy reuses its vocabulary even when every sentence is new."""
    w = word.lower()
    n = len(_VOWELS.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and n > 1:
        n -= 1
    return max(1, n)


def _stats(caps_ok: frozenset[str], text: str) -> LineStats:
    plain = _URL.sub(" ", text) if ("://" in text or "@" in text) else text
    ascii_plain = plain.encode("ascii", "ignore")
    upper = len(ascii_plain.translate(None, _NOT_UPPER))
    shouted = (
        tuple(
            m.group()
            for m in _CAPS.finditer(plain)
            if m.group() not in caps_ok
            and not (m.start() and plain[m.start() - 1].isalnum())
            and not (m.end() < len(plain) and plain[m.end()].isalnum())
        )
        if upper >= 4
        else ()
    )
    bangs = _EXCLAIM.search(plain) if ("!" in plain or "?" in plain) else None
    words = _WORD.findall(plain)
    ends = len(_SENTENCE_END.findall(plain))
    return LineStats(
        # every script's letters count (kana and kanji have no case: a code in Japanese copy
        # is not shouting)
        letters=len(ascii_plain.translate(None, _NOT_LETTER))
        + (0 if plain.isascii() else sum(1 for c in plain if c.isalpha() and not c.isascii())),
        upper=upper,
        shouted=shouted,
        bang_run=bangs.group() if bangs else None,
        exclamations=plain.count("!"),
        emoji=tuple(_EMOJI.findall(text)) if not text.isascii() else (),
        words=len(words),
        sentences=ends or (1 if words else 0),
        syllables=sum(map(syllables, words)),
    )


@dataclass(frozen=True)
class _Voice:
    avoid: LineMemo[Sequence[Finding]]
    stats: LineMemo[LineStats]


@per_kit
def _voice(kit: BrandKit) -> _Voice:
    """The avoid-word scan and the line statistics, behind per-line memos."""
    words = list(kit.voice.avoid)
    folded = tuple(fold(w) for w in words)
    present = PhraseIndex((w, w) for w in folded)
    rx = (
        re.compile(r"\b(?:" + "|".join(rf"({re.escape(w)}\b)" for w in folded) + ")")
        if words
        else None
    )
    caps_ok = _CAPS_OK | {w.upper() for w in kit.name.split()}

    def avoid(text: str, field: Part) -> tuple[Finding, ...]:
        low = fold(text)
        if rx is None or not present.any_in(low):
            return ()
        return tuple(
            Finding(
                rule_id="voice.avoid_word",
                severity=Severity.WARN,
                span=original_span(text, low, m.start(), m.end()),
                explanation=f"{kit.name}'s voice avoids “{words[(m.lastindex or 1) - 1]}”.",
                suggested_fix="Use plain, practical words (see the brand voice).",
                field=field,
            )
            for m in rx.finditer(low)
        )

    return _Voice(LineMemo(avoid), LineMemo(lambda text, _field: _stats(caps_ok, text)))


def content_lines(msg: CopyToCheck, text: str) -> tuple[str, ...]:
    """The lines of a body the writer wrote (an e-mail's footer after `--` left out)."""
    ls = lines(text)
    if msg.channel == Channel.EMAIL and "--" in ls:
        return ls[: ls.index("--")]
    return ls


def reading_grade(stats: Sequence[LineStats]) -> float | None:
    """Flesch-Kincaid grade of some lines; None below 20 words (too short to judge)."""
    words = sum(s.words for s in stats)
    if words < 20:
        return None
    sentences = max(1, sum(s.sentences for s in stats))
    syl = sum(s.syllables for s in stats)
    return 0.39 * words / sentences + 11.8 * syl / words - 15.59


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`voice.avoid_word`, `voice.emoji`, `voice.shouting`, `voice.reading_level` and
    `voice.too_long` (all warnings)."""
    v = _voice(kit)
    part_stats = [
        (field, [v.stats.get(line, field) for line in lines(text)], content_lines(msg, text))
        for field, text in parts(msg)
    ]
    stats = [
        (field, all_, [v.stats.get(line, field) for line in content])
        for (field, all_, content) in part_stats
    ]
    return scan_lines(v.avoid, msg) + summarise(kit, msg, stats)


PartStats = tuple[Part, Sequence[LineStats], Sequence[LineStats]]
"""A part, the statistics of all its lines, and of its content lines (footer left out)."""


def summarise(kit: BrandKit, msg: CopyToCheck, stats: Sequence[PartStats]) -> list[Finding]:
    """The message-level voice findings (shouting, emoji, reading level, length)."""
    out: list[Finding] = []
    emoji: list[str] = []
    for field, all_lines, content in stats:
        out += _shouting(kit, field, list(all_lines))
        for s in all_lines:
            emoji += s.emoji
        if field == "body":
            out += _reading_and_length(kit, msg, content)
    out += _emoji(kit, msg, emoji)
    out += _push_length(kit, msg)
    return out


def line_stats(kit: BrandKit) -> LineMemo[LineStats]:
    """The kit's per-line statistics memo."""
    return _voice(kit).stats


def avoid_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line avoid-word memo."""
    return _voice(kit).avoid


def _shouting(kit: BrandKit, field: Part, stats: list[LineStats]) -> list[Finding]:
    shouted = [w for s in stats for w in s.shouted]
    bang = next((s.bang_run for s in stats if s.bang_run), None)
    letters = sum(s.letters for s in stats)
    upper = sum(s.upper for s in stats)
    bangs = sum(s.exclamations for s in stats)
    ratio = upper / letters if letters >= 20 else 0.0
    limit = kit.voice.caps_ratio_max
    if len(shouted) >= 2 or bang:
        why = "Capitals and stacked punctuation shout; the brand voice is calm."
    elif ratio > limit:
        why = f"{ratio:.0%} of the letters are capitals (the kit allows {limit:.0%})."
    elif bangs > kit.voice.max_exclamations:
        why = f"{bangs} exclamation marks (the kit allows {kit.voice.max_exclamations})."
    else:
        return []
    return [
        Finding(
            rule_id="voice.shouting",
            severity=Severity.WARN,
            span=" ".join(shouted[:3]) or bang or None,
            explanation=why,
            suggested_fix="Write in sentence case with a single exclamation mark at most.",
            field=field,
        )
    ]


def _reading_and_length(
    kit: BrandKit, msg: CopyToCheck, stats: Sequence[LineStats]
) -> list[Finding]:
    out: list[Finding] = []
    limit = kit.voice.reading_grade_max
    # each language by its own formula; a language without one is not graded (readability)
    measure = readability.formula(kit.default_locale)
    if limit is not None and msg.channel != Channel.SMS and measure is not None:
        grade = (
            reading_grade(stats)
            if measure == readability.FORMULAS["en"]
            else readability.german_grade(content_lines(msg, msg.body))
        )
        if grade is not None and grade > limit:
            out.append(
                Finding(
                    rule_id="voice.reading_level",
                    severity=Severity.WARN,
                    span=None,
                    explanation=(
                        f"The copy reads at grade {grade:.1f} ({measure}); {kit.name} "
                        f"writes at grade {limit:g} or below."
                    ),
                    suggested_fix="Use shorter sentences and everyday words.",
                    field="body",
                )
            )
    max_words = kit.channel_rules.email.body_max_words
    words = sum(s.words for s in stats)
    if msg.channel == Channel.EMAIL and max_words is not None and words > max_words:
        out.append(
            Finding(
                rule_id="voice.too_long",
                severity=Severity.WARN,
                span=None,
                explanation=f"The e-mail has {words} words before the footer; the kit allows "
                f"{max_words}.",
                suggested_fix="Cut it to the one thing the reader should do.",
                field="body",
            )
        )
    return out


def _push_length(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    if msg.channel != Channel.PUSH:
        return []
    rules = kit.channel_rules.push
    out: list[Finding] = []
    for field, text, limit in (
        ("subject", msg.subject or "", rules.title_max_length),
        ("body", msg.body, rules.body_max_length),
    ):
        if len(text) > limit:
            out.append(
                Finding(
                    rule_id="voice.too_long",
                    severity=Severity.WARN,
                    span=text[limit:],
                    explanation=f"The push {'title' if field == 'subject' else 'body'} has "
                    f"{len(text)} characters; the limit is {limit}, the rest is cut off.",
                    suggested_fix=f"Keep it to {limit} characters.",
                    field="subject" if field == "subject" else "body",
                )
            )
    return out


def _emoji(kit: BrandKit, msg: CopyToCheck, seen: list[str]) -> list[Finding]:
    count = len([e for e in seen if e != "\ufe0f"])
    policy = kit.emoji_policy
    allowed = msg.channel in policy.allowed_channels
    limit = policy.max_per_message if allowed else 0
    if count <= limit:
        return []
    return [
        Finding(
            rule_id="voice.emoji",
            severity=Severity.WARN,
            span="".join(seen),
            explanation=(
                f"{count} emoji; {kit.name} allows "
                + (
                    f"at most {limit} on {msg.channel.value}."
                    if allowed
                    else f"none on {msg.channel.value}."
                )
            ),
            suggested_fix="Remove the emoji.",
            field="message",
        )
    ]
