"""Spam language: a weighted score of spam trigger phrases over the copy the writer wrote.

The phrase list is data the brand supplies (`spam.words_path` in the kit); without it the
check is skipped. Phrases are found in one Aho-Corasick pass per line, whatever the list's
length. The score sums the weights of distinct phrases found; it warns at the kit's
`warn_score` and blocks only when the kit sets `block_score`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from brand_guardrails.checks._cache import LineMemo, lines, per_kit
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import UNSPACED, Part, fold, parts
from brand_guardrails.checks.voice import content_lines
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

_WEIGHT_FILE = re.compile(r"weight[_-]?(\d+(?:\.\d+)?)", re.IGNORECASE)


class SpamWordsError(ValueError):
    """The spam word list cannot be read; the message names the file."""


@lru_cache(maxsize=8)
def load_spam_words(path: Path) -> dict[str, float]:
    """Phrase → weight from a folder of `*weight<N>*.txt` files or a `phrase<TAB>weight` file;
    a phrase listed twice keeps its highest weight."""
    path = Path(path)
    words: dict[str, float] = {}

    def add(phrase: str, weight: float) -> None:
        key = fold(phrase.strip())
        if key:
            words[key] = max(weight, words.get(key, 0.0))

    try:
        if path.is_dir():
            files = sorted(path.glob("*.txt"))
            if not files:
                raise SpamWordsError(f"{path}: no spam word files (*weight<N>.txt) in the folder")
            for f in files:
                m = _WEIGHT_FILE.search(f.stem)
                if m is None:
                    continue
                for line in f.read_text(encoding="utf-8").splitlines():
                    add(line, float(m.group(1)))
        else:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip() or line.startswith("#"):
                    continue
                phrase, _, weight = line.rpartition("\t")
                try:
                    add(phrase, float(weight))
                except ValueError as exc:
                    raise SpamWordsError(
                        f"{path.name}:{n}: expected `phrase<TAB>weight`, got {line!r}"
                    ) from exc
    except OSError as exc:
        raise SpamWordsError(f"{path}: cannot read spam words: {exc.strerror or exc}") from exc
    return words


def _is_word_char(c: str) -> bool:
    return (c.isalnum() or c == "_") and not UNSPACED.match(c)


def _bounded(text: str, start: int, end: int, phrase: str) -> bool:
    """True when a phrase found at text[start:end] stands as whole words: no letter, digit or
    currency sign just before it and, if it ends in a letter or digit, no letter or digit
    just after it (`cash` is not in `cashmere`, `$5` is not in `US$50`)."""
    if not any(c.isalnum() for c in phrase):
        return True
    if start > 0 and (_is_word_char(text[start - 1]) or text[start - 1] in "$£€"):
        return False
    return not (phrase[-1].isalnum() and end < len(text) and _is_word_char(text[end]))


def _system_texts(kit: BrandKit) -> tuple[str, ...]:
    """Text the system adds (disclaimers, opt-out), which the writer is not scored on."""
    texts = [kit.channel_rules.sms.opt_out_text, *kit.disclaimers.by_channel.values()]
    for d in kit.disclaimers.by_offer.values():
        texts += [d.text, d.short]
    folded = {fold(" ".join(t.split())) for t in texts if t.strip()}
    return tuple(sorted(folded, key=len, reverse=True))


@dataclass(frozen=True)
class _Spam:
    weights: dict[str, float]
    memo: LineMemo[tuple[str, ...]]


@per_kit
def _compile(kit: BrandKit) -> _Spam | None:
    """The kit's spam phrases in one Aho-Corasick index behind a per-line memo (None: no
    list)."""
    if kit.spam.words_path is None:
        return None
    weights = load_spam_words(kit.spam.words_path)
    if not weights:
        return None
    index = PhraseIndex((" ".join(p.split()), p) for p in weights)
    system = _system_texts(kit)

    system_index = PhraseIndex((s, s) for s in system)

    def scan(text: str, _field: Part) -> tuple[str, ...]:
        folded = fold(text)
        present = system_index.values_in(folded)
        for s in system if present else ():
            if s in present:
                folded = folded.replace(s, " ")
        flat = " ".join(folded.split())
        found = sorted(
            ((a, b, p) for a, b, p in index.matches(flat) if _bounded(flat, a, b, p)),
            key=lambda m: (m[0], m[0] - m[1]),
        )
        # leftmost, then longest, without overlaps: what one regex alternation would find
        out: list[str] = []
        free_from = 0
        for a, b, p in found:
            if a >= free_from:
                out.append(p)
                free_from = b
        return tuple(out)

    return _Spam(weights, LineMemo(scan))


def hits_memo(kit: BrandKit) -> LineMemo[tuple[str, ...]] | None:
    """The kit's per-line memo of spam phrases found (None: no list configured)."""
    spam = _compile(kit)
    return spam.memo if spam is not None else None


def spam_score(kit: BrandKit, msg: CopyToCheck) -> tuple[float, list[str]]:
    """The message's spam score and the phrases behind it (highest weight first)."""
    spam = _compile(kit)
    if spam is None:
        return 0.0, []
    found: set[str] = set()
    for field, text in parts(msg):
        source: Sequence[str] = content_lines(msg, text) if field == "body" else lines(text)
        for line in source:
            found.update(spam.memo.get(line, field))
    return _score(spam, found)


def _score(spam: _Spam, found: set[str]) -> tuple[float, list[str]]:
    ranked = sorted(found, key=lambda p: (-spam.weights[p], p))
    return sum(spam.weights[p] for p in found), ranked


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`spam.score` when the weighted spam-phrase score reaches the kit's threshold."""
    return summarise(kit, spam_score(kit, msg))


def summarise(kit: BrandKit, scored: tuple[float, list[str]]) -> list[Finding]:
    """The `spam.score` finding for a score, if it reaches the kit's threshold."""
    score, phrases = scored
    policy = kit.spam
    if score < policy.warn_score:
        return []
    block = policy.block_score is not None and score >= policy.block_score
    return [
        Finding(
            rule_id="spam.score",
            severity=Severity.BLOCK if block else Severity.WARN,
            span=", ".join(phrases[:6]),
            explanation=(
                f"Spam-language score {score:g} (warn at {policy.warn_score:g}"
                + (f", block at {policy.block_score:g}" if policy.block_score else "")
                + "): phrases like these send mail to the spam folder."
            ),
            suggested_fix="Say it plainly: name the product and the concrete benefit.",
            field="message",
        )
    ]


def score_hits(kit: BrandKit, found: set[str]) -> tuple[float, list[str]]:
    """Score a set of phrases found by `hits_memo`."""
    spam = _compile(kit)
    return _score(spam, found) if spam is not None else (0.0, [])
