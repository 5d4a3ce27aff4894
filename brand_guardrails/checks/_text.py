"""Text normalisation shared by the checks: folding, obfuscation-tolerant phrase patterns."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Literal

from brand_guardrails.message import CopyToCheck

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
        "ѕ": "s", "ԁ": "d", "ӏ": "l", "ԛ": "q", "ԝ": "w", "һ": "h", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ϲ": "c",
        # typographic punctuation
        "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
    }
)  # fmt: skip

# Characters an obfuscator may use in place of a letter, per letter.
_LEET = {
    "a": "a@4",
    "b": "b8",
    "e": "e3€",
    "g": "g9",
    "i": "i1!|l",
    "l": "l1|i",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
    "z": "z2",
    "0": "0o",
    "1": "1il|!",
    "3": "3e",
    "4": "4a",
    "5": "5s",
}
_SEP = r"[\W_]{0,3}"

Part = Literal["subject", "body"]

UNSPACED = re.compile(
    "[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)
"""A letter of a script written without spaces between words (Japanese kana and kanji, Chinese,
Thai): no word boundary can be read next to it, so a phrase in it matches inside a sentence."""


_SPECIAL = re.compile("[" + re.escape("".join(chr(c) for c in (*_INVISIBLE, *_HOMOGLYPHS))) + "]")
_SPECIAL_MAP: dict[str, str] = {
    chr(k): ("" if v is None else str(v) if isinstance(v, str) else chr(v))
    for k, v in {**_HOMOGLYPHS, **_INVISIBLE}.items()
}


_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """NFKC, invisible characters removed, case-folded, look-alike letters mapped to Latin."""
    if text.isascii():
        return text.lower()
    if "\n" in text:
        # Line by line (each line memoised): a message differs from the next person's in a line
        # or two (name, link), so its other lines are not normalised again. The same result: no
        # step reaches across a line break (a newline is a starter that composes with nothing,
        # case folding is per character, and the removed and mapped characters are single).
        return "\n".join(map(fold, text.split("\n")))
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = _COMBINING.sub("", text)
    return _SPECIAL.sub(lambda m: _SPECIAL_MAP[m.group()], unicodedata.normalize("NFC", text))


_ASCII_PUNCT = bytes(c for c in range(128) if not chr(c).isalnum())
_LEET_SYMBOLS = b"!|@$+"
_SKEL_BYTES = bytes.maketrans(b"1!|l34@5$7+8920", b"iiiieaassttbgzo")
_DELETE_KEEP_LEET = bytes(c for c in _ASCII_PUNCT if c not in _LEET_SYMBOLS)


def skeletons(folded: str) -> tuple[str, str]:
    """Two letter skeletons of folded text (look-alike symbols read as letters, or dropped),
    used to pre-filter obfuscation-tolerant phrase matching with plain substring tests."""
    raw = folded.replace("€", "e").encode("ascii", "ignore")
    a = raw.translate(_SKEL_BYTES, _DELETE_KEEP_LEET).decode("ascii")
    b = raw.translate(_SKEL_BYTES, _ASCII_PUNCT).decode("ascii")
    return a, b


def char_table(default: str, *classes: tuple[str, str]) -> bytes:
    """A byte table for `str.encode("ascii", "replace").translate`: each character of a class's
    string → that class's letter (the first class that has it), anything else → `default`; a
    line so read is a string of classes that one `in` or bytes regex can test cheaply. `?`
    stands for any non-ASCII character."""
    table = bytearray(default.encode() * 256)
    for chars, letter in reversed(classes):
        for ch in chars:
            table[ord(ch)] = ord(letter)
    return bytes(table)


_LETTER_DIGIT = char_table(" ", (string.ascii_letters + "?", "a"), (string.digits + "_", "1"))
"""Letters → `a`, digits and `_` → `1`, the rest → space."""


def mixes_letters_and_digits(text: str) -> bool:
    """False when no word of `text` has both a letter and a digit (`cur3s`, `1gn0re`): a cheap
    test before looking for leetspeak words with a regex."""
    classes = text.encode("ascii", "replace").translate(_LETTER_DIGIT)
    return b"a1" in classes or b"1a" in classes


@lru_cache(maxsize=256)
def squash(text: str) -> str:
    """Folded text with runs of whitespace and commas collapsed to one space."""
    if "\n" in text:
        # line by line, each line memoised (as `fold`): the same result, a line break being
        # whitespace; a message is squashed by several checks, so whole texts are kept a while
        return " ".join(filter(None, map(_squash_line, text.split("\n"))))
    return _squash_line(text)


@lru_cache(maxsize=8192)
def _squash_line(line: str) -> str:
    return " ".join(fold(line).replace(",", " ").split())


def phrase_skeleton(phrase: str) -> str:
    """The skeleton of a phrase, comparable with `skeletons()` of a text."""
    return skeletons(fold(phrase))[1]


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Substrings of which at least one occurs in every match of `pattern` (lower case), or
    None when no such set can be read off the pattern (then the pattern must always run)."""
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None
    return _seq_literals(list(parsed))


def required_literal_sets(pattern: str) -> tuple[tuple[tuple[str, ...], ...], ...] | None:
    """A stricter `required_literals`: per alternative of `pattern`, every set of substrings
    (lower case) of which each match of that alternative contains one; None when some
    alternative has no such set (then the pattern must always run).

    `your\\s+(?:\\d+)[- ]?(?:year|yr)s?[- ]?old` gives `((("your",), ("year", "yr"), ("old",)),)`:
    it can match only where all three are present, not wherever one of them is."""
    from re import _parser  # type: ignore[attr-defined]

    try:
        parsed = _parser.parse(pattern)
    except re.error:
        return None
    out = []
    for alternative in _alternatives(list(parsed)):
        sets = _all_literals(alternative)
        # one-character literals are found almost everywhere: they only slow the search
        sets = [s for s in sets if min(map(len, s)) > 1] or sets
        if not sets:
            return None
        out.append(tuple(sets))
    return tuple(out)


def _alternatives(items: list[Any]) -> list[list[Any]]:
    """The top-level alternatives of a parsed pattern (`\\b(?:a|b)\\b` has two)."""
    from re import _constants as c  # type: ignore[attr-defined]

    branches = [i for i, (op, _) in enumerate(items) if op not in (c.AT, c.ASSERT, c.ASSERT_NOT)]
    if len(branches) == 1 and items[branches[0]][0] is c.BRANCH:
        i = branches[0]
        return [
            alt
            for branch in items[i][1][1]
            for alt in _alternatives([*items[:i], *branch, *items[i + 1 :]])
        ]
    return [items]


def _all_literals(items: list[Any]) -> list[tuple[str, ...]]:
    """Every set of substrings one of which each match of a sequence contains (its literal
    runs, and the best set of each group or alternation in it)."""
    from re import _constants as c  # type: ignore[attr-defined]

    sets: list[tuple[str, ...]] = []
    run = ""
    for op, arg in items:
        if op is c.LITERAL:
            run += chr(arg).lower()
            continue
        lits = None
        if op is c.BRANCH and run:
            # `near|next to` is parsed as `ne(?:ar|xt to)`: read the words back whole
            lits = tuple(run + _leading(list(alt)) for alt in arg[1])
        elif run:
            sets.append((run,))
        run = ""
        if op is c.SUBPATTERN:
            lits = _seq_literals(list(arg[-1]))
        elif op is c.BRANCH and lits is None:
            lits = _seq_literals([(op, arg)])
        if lits and all(lits):
            sets.append(lits)
    if run:
        sets.append((run,))
    return sets


def _leading(items: list[Any]) -> str:
    """The literal characters a parsed sequence starts with (lower case)."""
    from re import _constants as c  # type: ignore[attr-defined]

    out = ""
    for op, arg in items:
        if op is not c.LITERAL:
            break
        out += chr(arg).lower()
    return out


def _seq_literals(items: list[Any]) -> tuple[str, ...] | None:
    from re import _constants as c  # type: ignore[attr-defined]

    if len(items) == 1 and items[0][0] is c.BRANCH:
        out: list[str] = []
        for branch in items[0][1][1]:
            lits = _seq_literals(list(branch))
            if lits is None:
                return None
            out.extend(lits)
        return tuple(out)
    best: tuple[str, ...] | None = None
    run = ""

    def consider(cand: tuple[str, ...] | None) -> None:
        nonlocal best
        if cand and all(cand) and (best is None or min(map(len, cand)) > min(map(len, best))):
            best = cand

    for op, arg in items:
        if op is c.LITERAL:
            run += chr(arg).lower()
            continue
        consider((run,) if run else None)
        run = ""
        if op is c.SUBPATTERN:
            consider(_seq_literals(list(arg[-1])))
        elif op is c.BRANCH:
            consider(_seq_literals([(op, arg)]))
    consider((run,) if run else None)
    return best


def phrase_pattern(phrase: str) -> str:
    """A regex for a phrase that survives case, look-alikes, leetspeak and `f.r.e.e` spacing."""
    chars = [c for c in fold(phrase) if c.isalnum()]
    if not chars:
        return r"(?!x)x"
    body = _SEP.join("[" + re.escape(_LEET[c]) + "]" if c in _LEET else re.escape(c) for c in chars)
    lead = "" if UNSPACED.match(chars[0]) else r"(?<![^\W_])"
    tail = "" if UNSPACED.match(chars[-1]) else r"(?![^\W_]|'[a-z])"
    return lead + body + tail


def phrase_variants(phrase: str) -> list[str]:
    """A phrase and its `&`/`and` twin (competitor names are written both ways)."""
    out = [phrase]
    if "&" in phrase:
        out.append(phrase.replace("&", " and "))
    if re.search(r"\band\b", phrase, re.IGNORECASE):
        out.append(re.sub(r"\band\b", "&", phrase, flags=re.IGNORECASE))
    return out


def original_span(original: str, folded: str, start: int, end: int) -> str:
    """The matched text as the reader sees it (folded text when lengths differ)."""
    if len(original) == len(folded):
        return original[start:end]
    return folded[start:end]


def parts(msg: CopyToCheck) -> Iterator[tuple[Part, str]]:
    """The checkable parts of a message: ("subject", text) when present, then ("body", text)."""
    if msg.subject:
        yield "subject", msg.subject
    yield "body", msg.body
