"""Offers: discounts above the approval threshold (warn), missing or mismatched terms (block)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from brand_guardrails.checks._text import fold, parts
from brand_guardrails.footer import offer_disclaimer
from brand_guardrails.kit import BrandKit
from core.models import Channel, Finding, Offer, Severity

if TYPE_CHECKING:
    from brand_guardrails.checker import CopyToCheck

_PERCENT = re.compile(
    r"(?:save|saving|take|get|extra|up to|enjoy)?\s*(\d{1,3}(?:\.\d+)?)\s*(?:%|percent)\s*(?:off|"
    r"discount|savings?)\b|\bsave\s+(\d{1,3}(?:\.\d+)?)\s*(?:%|percent)"
)
_FREE_SHIPPING = re.compile(r"\bfree\s+(?:standard\s+)?(?:shipping|delivery)\b|\bships?\s+free\b")
_GIFT = re.compile(r"\bfree\s+gift\b|\bgift\s+with\s+(?:your\s+)?(?:order|purchase)\b")
_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _SPACES.sub(" ", fold(text)).strip()


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`offer.discount_above_threshold` (warn), `offer.mismatch` and `offer.missing_disclaimer`."""
    out: list[Finding] = []
    limit = kit.approval_policy.max_auto_discount_percent
    offer = msg.offer if msg.offer is not None and msg.offer.kind != "none" else None
    kinds: set[str] = {offer.kind} if offer else set()
    mentioned: list[tuple[float, str, str]] = []
    for field, text in parts(msg):
        folded = fold(text)
        for m in _PERCENT.finditer(folded):
            mentioned.append((float(m.group(1) or m.group(2)), m.group().strip(), field))
        if _FREE_SHIPPING.search(folded):
            kinds.add("free_shipping")
        if _GIFT.search(folded):
            kinds.add("gift")
    if mentioned:
        kinds.add("percent_off")

    over = [(p, s, f) for p, s, f in mentioned if p > limit]
    if offer and offer.kind == "percent_off" and offer.percent and offer.percent > limit:
        over.append((offer.percent, f"offer: {offer.percent:g}% off", "message"))
    if over:
        p, span, field = max(over)
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
                field=field,  # type: ignore[arg-type]
            )
        )
    if offer and offer.kind == "percent_off" and offer.percent is not None:
        for p, span, field in mentioned:
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
                        field=field,  # type: ignore[arg-type]
                    )
                )
                break

    body = _squash(msg.body)
    for kind in sorted(kinds):
        needed = offer_disclaimer(kit, msg.channel, Offer(kind=kind))  # type: ignore[arg-type]
        if not needed:
            continue
        d = kit.disclaimers.by_offer[kind]  # type: ignore[index]
        accepted = {_squash(d.text), _squash(d.short)} if msg.channel == Channel.SMS else {
            _squash(d.text)
        }
        if not any(a in body for a in accepted):
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
