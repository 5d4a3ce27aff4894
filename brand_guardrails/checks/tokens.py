"""Unresolved template tokens and rendering leftovers (`{{ x }}`, `[FirstName]`, `None`, `nan`).

Placeholders are recognised by the syntaxes templates and ESPs use — `{{x}}`, `{% %}`, `{x}`,
`${x}`, `*|FNAME|*`, `%FNAME%`, `<<x>>` — and, in square brackets, only by the shape of a
variable name (`[FirstName]`, `[first_name]`, `[FNAME]`, `[Product Name]`): a bracketed
word of ordinary copy (`[New]`, `[sic]`, `[Update]`) is not one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import Part
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

_NULLS = r"(?:None|none|null|NULL|nan|NaN|undefined)"
_NULL_WORDS = ("None", "none", "null", "NULL", "nan", "NaN", "undefined")
# (characters that must be present, pattern): patterns run only when a trigger is present.
_TOKEN_RULES: list[tuple[tuple[str, ...], re.Pattern[str]]] = [
    (("{", "}"), re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\}\}|\{%|%\}")),
    (("{", "}"), re.compile(r"\$\{\s*\w+\s*\}|\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*\}")),
    (("[",), re.compile(r"\[\s*[A-Za-z][A-Za-z0-9_ .-]{0,30}\]")),  # see _is_variable
    (("*|",), re.compile(r"\*\|[A-Za-z0-9_]+\|\*")),  # *|FNAME|*
    (("%",), re.compile(r"%%?[A-Z][A-Z0-9_]{2,}%%?")),  # %FIRSTNAME%
    (("<<",), re.compile(r"<<\s*\w+\s*>>")),
    (
        _NULL_WORDS,
        re.compile(
            "|".join(
                [
                    r"\b(?:undefined|NaN|NULL)\b",
                    rf"\b(?:Hi|Hey|Hello|Dear|Thanks|Congrats|Welcome back),?\s+{_NULLS}\b",
                    r"(?<![\w'-])(?:None|null|nan)(?=\s*(?:[,.!?;:)]|$))",
                    rf"\$\s?{_NULLS}\b|\b{_NULLS}\s?%",
                    rf"/{_NULLS}(?=[/?#\s]|$)",
                ]
            )
        ),
    ),
]
_EMPTY = re.compile(
    r"\b(?:Hi|Hey|Hello|Dear)\s+(?:[,!]|\.(?!\.)|:(?![-()/pPdD]))|\bcode\s+(?:[,!]|\.(?!\.))"
)
_EMPTY_TRIGGERS = (" ,", " !", " .", " :", "\n,", "\n.")
_EMPTY_RULE = -1
_TRIGGERS = PhraseIndex(
    [(t, i) for i, (triggers, _) in enumerate(_TOKEN_RULES) for t in triggers]
    + [(t, _EMPTY_RULE) for t in _EMPTY_TRIGGERS]
)
"""Trigger strings → the rule (index in _TOKEN_RULES, or _EMPTY_RULE) they let run."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"^[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+$")
"""`FirstName`, `firstName`: CamelCase, the shape of a variable name."""
_SNAKE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+$")
"""`first_name`, `customer.first_name`, `FIRST_NAME`."""
_MERGE_CAPS = re.compile(r"^(?:[FL]NAME|EMAIL|PHONE|COMPANY|ADDRESS|CITY|ZIP|MMERGE\d+)$")
"""Merge-tag names ESPs use in capitals (`[FNAME]`)."""
_FIELD_WORDS = frozenset(
    (  # noqa: SIM905
        "name first last full given family surname customer recipient subscriber contact user "
        "member company product item sku brand store shop email phone mobile address street "
        "city state zip postcode postal country date birthday dob time code coupon promo "
        "discount offer amount price total order number id url link title salutation fname "
        "lname"
    ).split()
)
"""Words that name a variable; `[Product Name]` is one only when every word is one."""


def _is_variable(inner: str) -> bool:
    """True when the text inside square brackets has the shape of a template variable."""
    inner = inner.strip()
    if _CAMEL.match(inner) or _SNAKE.match(inner) or _MERGE_CAPS.match(inner):
        return True
    words = inner.lower().replace("-", " ").split()
    return bool(words) and all(w in _FIELD_WORDS for w in words)


@per_kit
def _memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """Private field names (lower case, no separators) behind a per-line memo of the scan."""
    private = frozenset(f.lower().replace("_", "").replace(" ", "") for f in kit.private_fields)
    return LineMemo(lambda text, field: _scan(private, text, field))


def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """The kit's per-line tokens memo."""
    return _memo(kit)


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`tokens.unresolved`, `tokens.empty_value` and `privacy.private_field` (a leftover
    placeholder naming a private customer field)."""
    return scan_lines(_memo(kit), msg)


def _scan(private: frozenset[str], text: str, field: Part) -> tuple[Finding, ...]:
    out: list[Finding] = []
    triggered = _TRIGGERS.values_in(text)
    found = sorted(
        (m for i in sorted(triggered - {_EMPTY_RULE}) for m in _TOKEN_RULES[i][1].finditer(text)),
        key=lambda m: (m.start(), -m.end()),
    )
    matches: list[re.Match[str]] = []
    for m in found:  # keep the widest of overlapping matches
        if not matches or m.start() >= matches[-1].end():
            matches.append(m)
    for m in matches:
        span = m.group()
        if span.startswith("[") and not _is_variable(span[1:-1]):
            continue  # `[New]`, `[sic]`, `[Ad]`: ordinary copy, not a placeholder
        names = {n.lower().replace("_", "") for n in _NAME.findall(span)}
        leaked = sorted(names & private)
        if leaked:
            out.append(
                Finding(
                    rule_id="privacy.private_field",
                    severity=Severity.BLOCK,
                    span=span,
                    explanation=(
                        f"“{span}” refers to a private customer field ({', '.join(leaked)}) "
                        "that must never reach copy."
                    ),
                    suggested_fix="Remove the field; use only the documented variables.",
                    field=field,
                )
            )
            continue
        out.append(
            Finding(
                rule_id="tokens.unresolved",
                severity=Severity.BLOCK,
                span=span,
                explanation=(
                    f"“{span}” looks like a placeholder or a missing value that was not "
                    "filled in; the person would see it as is."
                ),
                suggested_fix=(
                    "Render the template with the person's data, and give optional values "
                    'a fallback, e.g. {{ first_name or "there" }}.'
                ),
                field=field,
            )
        )
    for m in _EMPTY.finditer(text) if _EMPTY_RULE in triggered else ():
        out.append(
            Finding(
                rule_id="tokens.empty_value",
                severity=Severity.BLOCK,
                span=m.group(),
                explanation=f"“{m.group()}” reads as if a value (a name, a code) is missing.",
                suggested_fix='Give the value a fallback, e.g. {{ first_name or "there" }}.',
                field=field,
            )
        )
    return tuple(out)
