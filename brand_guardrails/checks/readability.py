"""Reading level by a formula made for the copy's language, read as a school grade.

English copy is graded by Flesch-Kincaid (in `voice`), German copy by the first Wiener
Sachtextformel (Bamberger & Vanecek, 1984), which was fitted on German school texts. French,
Portuguese and Japanese have no grade formula here (Kandel-Moles and the Portuguese Flesch are
ease scores on another scale; Japanese has no syllable count to build on), so their copy is not
graded: a limit made for one language's formula says nothing about another's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

FORMULAS = {"en": "Flesch-Kincaid", "de": "Wiener Sachtextformel"}
"""The grade formula per language code; a language not listed is not graded."""

_URL = re.compile(r"\S+://\S+|\S+@\S+")
_GERMAN_WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")
_GERMAN_VOWELS = re.compile(r"[aeiouyäöü]+")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def formula(language: str) -> str | None:
    """The grade formula for a language (`de`, `en-GB`), or None when it is not graded."""
    return FORMULAS.get(language.lower().replace("_", "-").split("-", 1)[0])


def german_grade(lines: Sequence[str]) -> float | None:
    """First Wiener Sachtextformel of some lines of German copy (a school grade, 4 = easy,
    15 = very hard); None below 20 words (too short to judge). Syllables are vowel groups, so
    diphthongs (ei, au, eu, äu, ie) count once."""
    words: list[str] = []
    sentences = 0
    for line in lines:
        plain = _URL.sub(" ", line)
        found = _GERMAN_WORD.findall(plain)
        words += found
        sentences += len(_SENTENCE_END.findall(plain)) or (1 if found else 0)
    n = len(words)
    if n < 20:
        return None
    syllables = [max(1, len(_GERMAN_VOWELS.findall(w.lower()))) for w in words]
    ms = 100 * sum(s >= 3 for s in syllables) / n  # % words of three or more syllables
    sl = n / max(1, sentences)  # mean sentence length in words
    iw = 100 * sum(len(w) > 6 for w in words) / n  # % words of more than six letters
    es = 100 * sum(s == 1 for s in syllables) / n  # % words of one syllable
    return 0.1935 * ms + 0.1672 * sl + 0.1297 * iw - 0.0327 * es - 0.875
