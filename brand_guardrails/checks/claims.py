"""Unsubstantiated claims (guarantees, #1, cures, risk-free, superlatives) from the kit.

Patterns run on folded text (case, look-alike letters) and, when a word mixes letters with
digits or symbols, on its leetspeak reading as well (`cur3s` → `cures`, `r1sk-fr33`). A claim
denied in its own clause is not made ("our team heals nothing", "we can't guarantee delivery by
Friday", "ne guérit rien"); a negative subject still compares ("nothing cures faster").
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import (
    Part,
    char_table,
    fold,
    original_span,
    required_literals,
)
from brand_guardrails.kit import BrandKit, ClaimPattern
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

_LEET_WORD = re.compile(
    r"(?<![a-z0-9@$€!|])(?=[a-z0-9@$€!|]*[0-9@$€!|])(?=[0-9@$€!|]*[a-z][0-9@$€!|]*[a-z])"
    r"[a-z0-9@$€!|]+"
)
"""A word of letters, digits and look-alike symbols with at least two letters and one
digit or symbol (`cur3s`, `gu@r@nteed`; not `3`, `#1`, `4x4`)."""


_CLASSES = char_table(
    " ", (string.ascii_letters + "?", "a"), ("0123456789@$!|", "1"), (" .*_-", "s")
)
"""Letters → `a`, digits and leet symbols → `1`, the separators of spelt-out words → `s`."""
_SPACED_HINT = re.compile(rb"sa(?:s|ss)as")
"""Two single letters between separators, in `_CLASSES` bytes: every spelt-out word has them."""
_LEET_AS_I = str.maketrans("0134578@$€9!|", "oieastbasegii")
_LEET_AS_L = str.maketrans("0134578@$€9!|", "oleastbasegll")
"""Symbols read as letters, one for one (so offsets stay put); `1`, `!`, `|` as i or as l."""
_TITLE = re.compile(r"(?:^|\s)(?:Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr)\.$")
"""A title before a name (`Dr. Heal`): its full stop does not end a sentence."""
_WORD = re.compile(r"\S+")
_SMALL_WORDS = frozenset(
    ["a", "an", "the", "and", "or", "of", "in", "on", "at", "to", "for", "by", "with", "from"]
)
_SENTENCE_START = frozenset(".!?:;\"'“”(«¿¡-•*")


def leet_readings(folded: str) -> tuple[str, ...]:
    """`folded` with every mixed letter/symbol word (`cur3s`, `gu@rantee`) read as letters,
    in the two readings of `1` (i, l); () when no word mixes them. Same length as `folded`."""
    classes = folded.encode("ascii", "replace").translate(_CLASSES)
    if b"a1" not in classes and b"1a" not in classes and "€" not in folded:
        return ()  # no letter touches a digit or symbol: no leet word (a cheap test)
    words = list(_LEET_WORD.finditer(folded))
    if not words:
        return ()
    out = []
    for table in (_LEET_AS_I, _LEET_AS_L):
        chars = list(folded)
        for m in words:
            chars[m.start() : m.end()] = m.group().translate(table)
        out.append("".join(chars))
    return tuple(dict.fromkeys(out))


def _is_name(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is written as a name: one capitalised word inside a
    sentence of a line that is not in title case (`our designer Jamie Heal`)."""
    word = text[start:end]
    if not (word.isalpha() and word[0].isupper() and word[1:].islower()):
        return False
    before = text[:start].rstrip()
    if not before:
        return False
    if before[-1] in _SENTENCE_START and not _TITLE.search(before):
        return False
    # Title case says nothing about names: the line's other words (not the first, not the
    # word itself or the one before it, not short function words) must be mostly lower case.
    tokens = [(m.start(), m.group()) for m in _WORD.finditer(text)]
    others = [
        w
        for i, (pos, w) in enumerate(tokens)
        if i > 0
        and pos != start
        and not (i + 1 < len(tokens) and tokens[i + 1][0] == start)
        and w[:1].isalpha()
        and w.lower() not in _SMALL_WORDS
    ]
    return sum(w[0].isupper() for w in others) * 2 <= len(others)


_CLAUSE_BREAK = re.compile(r"[.!?;:(\n]|,(?!\s*(?:that|dass|que|qu')\b)|\s-+\s")
"""Where a clause ends, for negation: a comma before `that`/`dass`/`que` does not end one."""
_DENIED = re.compile(
    # a negator right before the claim, across an article, pronoun or adverb at most twice:
    # "doesn't cure", "is not a cure", "can't really guarantee", "no lo cura", "kann nicht heilen"
    # ("believe it or not", "ob du willst oder nicht" deny nothing)
    r"(?:(?<!\bor\s)(?<!\boder\s)(?<!\bou\s)(?<!\bo\s)"
    r"\b(?:not|never|cannot|no|nicht|kein(?:e[nmrs]?)?|nie|niemals|non|nunca|jamas|nao"
    r"|ne\s+(?:pas|jamais))|n't)\s+(?:(?:a|an|the|ein\w*|una?|um|uma|lo|la|le|te|se|nos|me"
    r"|really|actually|ever|always|truly|literally|magically|wirklich|immer)\s+){0,2}$"
    # or a claim said not to be made: "we don't claim it cures", "never said our boots heal",
    # "wir behaupten nicht, dass es heilt" (up to three words between, no conjunction)
    r"|(?:(?:\b(?:not|never)|n't)\s+(?:\w+\s+)?(?:claim|say|said|promise|pretend|suggest"
    r"|imply|mean)(?:s|ed|ing)?\s+|\b(?:behaupte|verspreche|sage)n?\s+nicht\s*,?\s*)"
    r"(?:that\s+|dass\s+|que\s+|qu')?(?:(?!(?:but|and|or|because|so|yet|how|aber|und|mais|et"
    r"|pero|y|e)\b)[\w']+\s+){0,3}$"
)
_NE_BEFORE = re.compile(r"\bn(?:e\s+|')(?:(?:vous|te|le|la|les|nous|lui|leur|se)\s+|[ls]')?$")
_NEGATED_AFTER = re.compile(
    # the claim's object denies it: "heals nothing", "heilt nichts", "heilt keine Krankheiten"
    r"\s+(?:nothing(?!\s+(?:but|less|short|like|else)\b)|nichts|nicht(?!\s+nur\b)|kein\w*"
    r"|nie|niemals)\b"
)
_NE_AFTER = re.compile(
    r"\s+(?:pas|rien|jamais|point|aucun\w*|nullement)\b(?!\s+(?:que|seulement)\b)"
)
"""The second half of a French negation: "ne guérit rien", "ne guérit pas"."""
_SENTENCE_END = re.compile(r"[.!?\n]")
_DOUBLE_NEGATIVE = re.compile(
    r"\b(?:nothing|no|nobody|none|nichts|kein\w*|niemand|rien|aucun\w*|personne|nada|nadie"
    r"|ningun\w*|nenhum\w*|niente|nessun\w*)\b"
    # or a negator stacked on the one before the claim: "never not guaranteed", "nie nicht"
    r"|(?:\b(?:never|not|nie|niemals|nicht|jamais|nunca|jamas|nao)|n't)\s+$"
)
_RESTRICTED = re.compile(
    # "heals nothing except blisters", "heilt nichts als Blasen", "no cura solo ampollas",
    # "ne guérit pas uniquement": a negation with an exception or "only" restricts the claim,
    # it still makes it
    r"\s+(?:(?:anything|nothing|nichts|nicht|kein\w*|pas|rien|nada|nao)\s+)?(?:just|only|merely"
    r"|but|nur|bloss|lediglich|als|anderes|uniquement|juste|seulement|que|solo|so|mas que"
    r"|alem)\b"
    r"|.*\b(?:except|other than|apart from|besides|ausser|sauf|hormis|excepto|salvo|exceto)\b"
)
_AFFIRMED = re.compile(
    # a disclaimer taken back by the next sentence: "We never say it cures blisters. It just
    # does.", "We won't say it's the cheapest. But it is."
    r"[^.!]*[.!]\s*(?:(?:but|and|yet)\s+)?(?:it|they|we)\s+(?:just\s+|really\s+|simply\s+"
    r"|still\s+|actually\s+)?(?:does|do|is|are|can|will)\s*(?:[.!]|$)"
    r"|[^.!]*[.!]\s*(?:aber\s+es\s+tut\s+es|es\s+tut\s+es\s+aber|tut\s+es\s+aber)\s*(?:[.!]|$)"
)


def _negated(folded: str, start: int, end: int, object_denies: bool) -> bool:
    """True when the claim at `folded[start:end]` is denied in its own clause ("our team heals
    nothing", "we don't claim it cures anything", "ne guérit rien", "no cura nada"). A
    negative subject is a comparison, still a claim ("nothing cures faster", "nichts heilt
    besser", "rien ne guérit mieux"), and so are a double negative ("no blister it can't
    heal"), a question ("who says boots can't heal?"), a restriction ("heals nothing except
    blisters") and a disclaimer the next sentence takes back ("… It just does."). A negative
    word after the claim denies it only when `object_denies` (a verb: "heals nothing"; not
    "guaranteed nothing gets in")."""
    tail = folded[end:]
    stop = _SENTENCE_END.search(tail)
    if stop is not None and stop.group() == "?":
        return False
    cut = _CLAUSE_BREAK.search(tail)
    if _RESTRICTED.match(tail, 0, cut.start() if cut else len(tail)) or _AFFIRMED.match(tail):
        return False
    before = folded[:start]
    cuts = list(_CLAUSE_BREAK.finditer(before))
    clause = before[cuts[-1].end() :] if cuts else before
    negator = _DENIED.search(clause)
    if negator is None:
        if not object_denies:
            return False
        if _NE_BEFORE.search(clause) and _NE_AFTER.match(tail):
            return True
        return bool(_NEGATED_AFTER.match(tail))
    return not _DOUBLE_NEGATIVE.search(clause, 0, negator.start())


_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .*_-]{1,2}){3,}[^\W\d_](?![^\W\d_])")
"""A word spelt out letter by letter (`g u a r a n t e e d`, `c.u.r.e`)."""


@dataclass(frozen=True)
class _Patterns:
    claims: list[tuple[ClaimPattern, re.Pattern[str]]]
    literals: PhraseIndex[int]
    """The literals one of which occurs in every match of a claim → the claim's index."""
    always: frozenset[int]
    """Claims without such literals: they run on every line."""
    allowed: re.Pattern[str] | None
    allowed_words: PhraseIndex[str]
    """The allowed phrases, to test cheaply whether `allowed` can match."""

    def candidates(self, text: str) -> list[tuple[ClaimPattern, re.Pattern[str]]]:
        """The claims that can match `text` (in kit order)."""
        present = self.literals.values_in(text) | self.always
        return [self.claims[i] for i in sorted(present)]


def _compile(kit: BrandKit) -> _Patterns:
    """Each claim pattern, and an index of the literals that pre-filter them."""
    claims = [(c, re.compile(c.pattern, re.IGNORECASE)) for c in kit.claims.blocked]
    literals = [required_literals(c.pattern) for c in kit.claims.blocked]
    index = PhraseIndex((lit, i) for i, lits in enumerate(literals) for lit in lits or ())
    always = frozenset(i for i, lits in enumerate(literals) if lits is None)
    allowed = (
        re.compile("|".join(re.escape(fold(p)) for p in kit.claims.allowed_phrases))
        if kit.claims.allowed_phrases
        else None
    )
    words = PhraseIndex((fold(p), p) for p in kit.claims.allowed_phrases)
    return _Patterns(claims, index, always, allowed, words)


@per_kit
def _memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's claim patterns behind a per-line memo."""
    pats = _compile(kit)
    return LineMemo(lambda text, field: _scan(kit, pats, text, field))


def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line claims memo."""
    return _memo(kit)


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`claims.unsubstantiated` for every blocked claim in subject or body."""
    return scan_lines(_memo(kit), msg, across_lines=True)


def _scan(kit: BrandKit, pats: _Patterns, text: str, field: Part) -> tuple[Finding, ...]:
    folded = fold(text)
    if pats.allowed is not None and pats.allowed_words.any_in(folded):
        folded = pats.allowed.sub(lambda m: " " * len(m.group()), folded)
    hits: list[tuple[ClaimPattern, int, str]] = []
    seen: set[tuple[str, int]] = set()
    for reading in (folded, *leet_readings(folded)):
        for claim, rx in pats.candidates(reading):
            for m in rx.finditer(reading):
                if (claim.label, m.start()) in seen:
                    continue
                named = claim.skip_names and len(text) == len(folded)
                if named and _is_name(text, m.start(), m.end()):
                    continue
                if _negated(reading, m.start(), m.end(), claim.object_denies):
                    continue
                seen.add((claim.label, m.start()))
                hits.append((claim, m.start(), original_span(text, folded, m.start(), m.end())))
        for hit in _spaced_hits(pats, reading):
            if (hit[0].label, hit[1]) not in seen:
                seen.add((hit[0].label, hit[1]))
                hits.append(hit)
    out: list[Finding] = []
    for claim, _, span in sorted(hits, key=lambda h: h[1]):
        out.append(
            Finding(
                rule_id="claims.unsubstantiated",
                severity=Severity.BLOCK,
                span=span,
                explanation=(
                    f"“{span}” is an unsubstantiated {claim.label} claim; {kit.name} "
                    "cannot back it up in every case."
                ),
                suggested_fix=claim.fix,
                field=field,
            )
        )
    return tuple(out)


def _spaced_hits(pats: _Patterns, folded: str) -> list[tuple[ClaimPattern, int, str]]:
    """Claims hidden by spelling a word out letter by letter, matched with the letters
    joined; the span is the spelt-out text."""
    out: list[tuple[ClaimPattern, int, str]] = []
    if _SPACED_HINT.search(folded.encode("ascii", "replace").translate(_CLASSES)) is None:
        return out  # no two single letters between separators: nothing spelt out
    for run in _SPACED.finditer(folded):
        joined = "".join(ch for ch in run.group() if ch.isalpha())
        window = folded[max(0, run.start() - 30) : run.start()] + joined
        window += folded[run.end() : run.end() + 30]
        offset = min(run.start(), 30)
        for claim, rx in pats.claims:
            for m in rx.finditer(window):
                if m.start() < offset + len(joined) and m.end() > offset:
                    out.append((claim, run.start(), run.group()))
    return out
