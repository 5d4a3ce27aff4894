"""SMS encoding: GSM-7 vs UCS-2, segment counts, and transliteration to GSM-7."""

from __future__ import annotations

import math
import unicodedata

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""Characters of the GSM 03.38 basic set (one septet each)."""
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
"""Characters of the GSM 03.38 extension table (two septets each)."""

_REPLACEMENTS = {
    "‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "…": "...", "\u00a0": " ", "\u2009": " ",
    "\u202f": " ", "•": "-", "·": "-",
}  # fmt: skip


def is_gsm7(text: str) -> bool:
    """True if every character fits the GSM-7 alphabet (basic or extension)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def segments(text: str) -> tuple[int, str, list[str]]:
    """(segment count, encoding, characters forcing UCS-2) for an SMS text.

    GSM-7: 160 septets in one message, 153 per part (extension characters count twice);
    UCS-2: 70 UTF-16 units in one message, 67 per part.
    """
    non_gsm = [c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION]
    if not non_gsm:
        units = len(text) + sum(1 for c in text if c in GSM7_EXTENSION)
        return (1 if units <= 160 else math.ceil(units / 153)), "GSM-7", []
    units = len(text.encode("utf-16-le")) // 2
    return (1 if units <= 70 else math.ceil(units / 67)), "UCS-2", sorted(set(non_gsm))


def to_gsm7(text: str) -> str:
    """Replace characters outside GSM-7 with close equivalents where one exists (curly quotes,
    dashes, accents: `Zoë` → `Zoe`); characters without one (emoji) are kept."""
    if text.isascii():
        return text
    out: list[str] = []
    for c in text:
        if c in GSM7_BASIC or c in GSM7_EXTENSION:
            out.append(c)
        elif c in _REPLACEMENTS:
            out.append(_REPLACEMENTS[c])
        else:
            base = "".join(
                b for b in unicodedata.normalize("NFKD", c) if not unicodedata.combining(b)
            )
            out.append(base if base and is_gsm7(base) else c)
    return "".join(out)
