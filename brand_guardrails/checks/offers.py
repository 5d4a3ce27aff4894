"""Offers: discounts above the approval threshold (warn), missing or mismatched terms (block)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, NamedTuple

from brand_guardrails.checks._cache import LineMemo, junctions, lines
from brand_guardrails.checks._text import Part, fold, parts, squash
from brand_guardrails.footer import SHORT_DISCLAIMER_CHANNELS
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from brand_guardrails.money import AmountOff, amounts_off
from core.models import Finding, Offer, Severity

Where = Literal["subject", "body", "message"]

_PCT_SIGN = re.compile(r"(?:%|percent)(\s*(?:off|discount|savings?)\b)?")
_NUMBER_BEFORE = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s*$")
_SAVE_BEFORE = re.compile(r"\bsave\s+(?:up\s+to\s+)?$")
_UP_TO = re.compile(r"up\s+to\s*$")
_FREE_SHIPPING = re.compile(r"\bfree\s+(?:standard\s+)?(?:shipping|delivery)\b|\bships?\s+free\b")
_GIFT = re.compile(r"\bfree\s+gift\b|\bgift\s+with\s+(?:your\s+)?(?:order|purchase)\b")


Mention = tuple[float, str]
"""A discount the copy mentions: percent, and the span (`up to 30% off`)."""


class Facts(NamedTuple):
    """What one line says about offers."""

    mentions: tuple[Mention, ...]
    free_shipping: bool
    gift: bool
    amounts: tuple[AmountOff, ...] = ()


def _facts(text: str, crossing: int | None = None) -> Facts:
    """The offer facts of a line; with `crossing` (the position of a line break), only those
    read from words on both sides of it."""
    folded = fold(text)

    def spans_break(start: int, end: int) -> bool:
        return crossing is None or start < crossing < end

    mentioned: list[Mention] = []
    if "%" in folded or "percent" in folded:
        for m in _PCT_SIGN.finditer(folded):
            num = _NUMBER_BEFORE.search(folded, max(0, m.start() - 12), m.start())
            if num is None or not spans_break(num.start(), m.end()):
                continue
            before = folded[max(0, num.start() - 16) : num.start()]
            if not m.group(1) and not _SAVE_BEFORE.search(before):
                continue
            up_to = bool(_UP_TO.search(before))
            span = ("up to " if up_to else "") + folded[num.start() : m.end()].strip()
            mentioned.append((float(num.group(1)), span))
    return Facts(
        tuple(mentioned),
        ("free" in folded or "ship" in folded) and _found(_FREE_SHIPPING, folded, spans_break),
        "gift" in folded and _found(_GIFT, folded, spans_break),
        tuple(a for a in amounts_off(folded) if spans_break(a.end - len(a.span), a.end)),
    )


def _found(rx: re.Pattern[str], folded: str, keep: Callable[[int, int], bool]) -> bool:
    return any(keep(*m.span()) for m in rx.finditer(folded))


MEMO = LineMemo(lambda text, _field: _facts(text))
"""Offer facts per line (kit-independent)."""
JUNCTION_MEMO = LineMemo(lambda text, _field: _facts(text, text.find("\n")))
"""Offer facts per line junction (`junctions()`): only what is written across the break (the
rest is in the lines' own facts, read with their whole context: `up to`, `save`)."""


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`offer.discount_above_threshold` (warn), `offer.mismatch` and `offer.missing_disclaimer`."""
    facts: list[tuple[Part, Facts]] = []
    for field, text in parts(msg):
        facts += [(field, MEMO.get(line, field)) for line in lines(text)]
        if "\n" in text:
            facts += [(field, JUNCTION_MEMO.get(j, field)) for j in junctions(text)]
    return summarise(kit, msg, facts)


def summarise(kit: BrandKit, msg: CopyToCheck, facts: list[tuple[Part, Facts]]) -> list[Finding]:
    """The offer findings of a message from the facts of its lines (and line junctions)."""
    out: list[Finding] = []
    limit = kit.approval_policy.max_auto_discount_percent
    offer = msg.offer if msg.offer is not None and msg.offer.kind != "none" else None
    kinds: set[str] = {offer.kind} if offer else set()
    mentioned: list[tuple[float, str, Where]] = []
    amounts: list[tuple[AmountOff, Where]] = []
    for field, fact in facts:
        for pct, span in fact.mentions:
            if (pct, span, field) not in mentioned:
                mentioned.append((pct, span, field))
        if fact.free_shipping:
            kinds.add("free_shipping")
        if fact.gift:
            kinds.add("gift")
        if fact.amounts:
            kinds.add("amount_off")
            amounts += [(a, field) for a in fact.amounts]
    if mentioned:
        kinds.add("percent_off")

    over: list[tuple[float, str, Where]] = [(p, s, f) for p, s, f in mentioned if p > limit]
    if offer and offer.kind == "percent_off" and offer.percent and offer.percent > limit:
        over.append((offer.percent, f"offer: {offer.percent:g}% off", "message"))
    if over:
        p, span, where = max(over)
        out.append(
            Finding(
                rule_id="offer.discount_above_threshold",
                severity=Severity.WARN,
                span=span,
                explanation=(
                    f"A {p:g}% discount is above the {limit:g}% that {kit.name} allows without "
                    "a person's approval."
                ),
                suggested_fix=f"Lower the discount to {limit:g}% or less, or get approval.",
                field=where,
            )
        )
    if offer and offer.kind == "percent_off" and offer.percent is not None:
        for p, span, where in mentioned:
            if abs(p - offer.percent) > 1e-9 and not span.startswith("up to"):
                out.append(
                    Finding(
                        rule_id="offer.mismatch",
                        severity=Severity.BLOCK,
                        span=span,
                        explanation=(
                            f"The copy promises {p:g}% off but the campaign's offer is "
                            f"{offer.percent:g}%."
                        ),
                        suggested_fix=f"Use the campaign's offer ({offer.percent:g}% off).",
                        field=where,
                    )
                )
                break
    out += _amount_mismatch(offer, amounts, mentioned)

    if not kinds:
        return out
    short = msg.channel in SHORT_DISCLAIMER_CHANNELS
    for kind in sorted(kinds):
        d = kit.disclaimers.by_offer.get(kind)  # type: ignore[call-overload]
        if d is None:
            continue
        needed = d.short if short else d.text
        raw = (d.text.strip(), d.short.strip()) if short else (d.text.strip(),)
        if any(map(msg.body.__contains__, raw)):
            continue
        body = squash(msg.body)
        accepted = (squash(d.text), squash(d.short)) if short else (squash(d.text),)
        if not any(map(body.__contains__, accepted)):
            out.append(
                Finding(
                    rule_id="offer.missing_disclaimer",
                    severity=Severity.BLOCK,
                    span=None,
                    explanation=(
                        f"The message carries a {kind.replace('_', ' ')} offer but not its "
                        f"required disclaimer: “{needed}”."
                    ),
                    suggested_fix=(
                        "Add the disclaimer; the system adds it when the offer is passed to "
                        "apply_footer(..., offer=offer). If the copy mentions an offer the "
                        "campaign does not have, remove it."
                    ),
                    field="body",
                )
            )
    return out


def _amount_mismatch(
    offer: Offer | None,
    amounts: list[tuple[AmountOff, Where]],
    percents: list[tuple[float, str, Where]],
) -> list[Finding]:
    """`offer.mismatch` when the copy names a fixed amount off other than the campaign's (or
    any amount off on a percent offer), or a percent off on an amount offer."""
    spans: list[tuple[str, Where]] = []
    if offer is not None and offer.kind == "amount_off":
        want = f"{offer.amount:g} {offer.currency or ''} off".replace("  ", " ")
        spans = [
            (span, where)
            for (value, currency, span, _end), where in amounts
            if abs(value - (offer.amount or 0)) > 1e-9
            or (offer.currency is not None and currency != offer.currency)
        ]
        spans += [(span, where) for _p, span, where in percents if not span.startswith("up to")]
    elif offer is not None and offer.kind == "percent_off" and offer.percent is not None:
        want = f"{offer.percent:g}% off"
        spans = [(a.span, where) for a, where in amounts]
    if not spans:
        return []
    span, where = spans[0]
    return [
        Finding(
            rule_id="offer.mismatch",
            severity=Severity.BLOCK,
            span=span,
            explanation=f"The copy promises {span} but the campaign's offer is {want}.",
            suggested_fix=f"Use the campaign's offer ({want}).",
            field=where,
        )
    ]
