"""`fold` and `squash` work on a text of several lines one line at a time (memoised per line);
the result must be that of the whole text at once, whatever characters meet at a line break."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

from brand_guardrails.checks._text import _COMBINING, _SPECIAL, _SPECIAL_MAP, fold, squash

REPO = Path(__file__).resolve().parents[2]


def _whole(text: str) -> str:
    """The fold of a text in one pass (the definition, without the line split)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    text = _COMBINING.sub("", text)
    return _SPECIAL.sub(lambda m: _SPECIAL_MAP[m.group()], unicodedata.normalize("NFC", text))


def _texts() -> list[str]:
    """Random texts of characters that compose, decompose, fold to several letters, or are
    dropped, mapped or squashed, placed next to line breaks (CR, U+0085 and U+2028 are not
    split on), and the texts of the eval data sets."""
    tricky = [*"aAzZ09 \t,.-\r", "\n", "\n", "\u0301", "\u0308", "\u0307", "\u0345", "\u200b"]
    tricky += ["\u2028", "\x85", "\u00a0", "ß", "ς", "Σ", "İ", "ﬁ", "①", "Å", "\u212b", "ẞ"]
    tricky += sorted(_SPECIAL_MAP)[:60]
    rng = random.Random(7)
    texts = ["".join(rng.choice(tricky) for _ in range(rng.randint(1, 16))) for _ in range(20_000)]
    for name in ("guardrails.jsonl", "adversarial.jsonl", "creep.jsonl"):
        for row in (REPO / "evals/datasets" / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(row)
            texts += [case[k] for k in ("text", "body", "subject") if case.get(k)]
    return texts


def test_folding_line_by_line_equals_folding_the_whole_text() -> None:
    multi_line = [t for t in _texts() if "\n" in t and not t.isascii()]
    assert len(multi_line) > 3_000
    for text in multi_line:
        assert fold(text) == _whole(text), repr(text)


def test_squashing_line_by_line_equals_squashing_the_whole_text() -> None:
    # blank lines, lines of commas and spaces only, commas and spaces at either side of a break
    texts = [t for t in _texts() if "\n" in t] + ["a,\n,b", "a\n\n , \n\nb", ",\n", "\n"]
    assert len(texts) > 3_000
    for text in texts:
        assert squash(text) == " ".join(_whole(text).replace(",", " ").split()), repr(text)
