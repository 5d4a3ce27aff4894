"""Approval policy: when a launch or an optimizer revision needs a human."""

from __future__ import annotations

from brand_guardrails.kit import ApprovalPolicy
from core.models import Finding, Plan, Revision, Severity


def launch_review(
    policy: ApprovalPolicy, *, plan: Plan, audience_size: int, findings: list[Finding]
) -> list[str]:
    """Reasons a human must approve this launch; an empty list means it may launch alone."""
    reasons: list[str] = []
    if policy.launch_requires_approval:
        reasons.append("The brand requires a person to approve every launch.")
    offer = plan.objective.offer
    if (
        offer.kind == "percent_off"
        and offer.percent is not None
        and offer.percent > policy.max_auto_discount_percent
    ):
        reasons.append(
            f"The discount ({offer.percent:g}%) is above the "
            f"{policy.max_auto_discount_percent:g}% the agents may launch alone."
        )
    if offer.kind == "amount_off" and offer.amount is not None:
        share = offer.amount / offer.min_order * 100 if offer.min_order else None
        if share is None:
            reasons.append(
                "A fixed amount off with no minimum order can be most of a cheap item's price: "
                "a person decides (or set a minimum order)."
            )
        elif share > policy.max_auto_discount_percent:
            reasons.append(
                f"The discount (up to {share:.0f}% of the {offer.min_order:g} minimum order) is "
                f"above the {policy.max_auto_discount_percent:g}% the agents may launch alone."
            )
    if audience_size > policy.max_auto_audience_size:
        reasons.append(
            f"The audience ({audience_size:,} people) is larger than the "
            f"{policy.max_auto_audience_size:,} the agents may launch alone."
        )
    warns = [f for f in findings if f.severity == Severity.WARN]
    if warns:
        ids = ", ".join(sorted({f.rule_id for f in warns}))
        reasons.append(f"{len(warns)} guardrail warning(s) need a person's judgement: {ids}.")
    blocks = [f for f in findings if f.severity == Severity.BLOCK]
    if blocks:
        ids = ", ".join(sorted({f.rule_id for f in blocks}))
        reasons.append(f"{len(blocks)} blocking guardrail finding(s) are unresolved: {ids}.")
    return reasons


def revision_review(policy: ApprovalPolicy, revision: Revision) -> str | None:
    """Why a human must approve an optimizer revision, or None if it may apply automatically."""
    if revision.risk > policy.max_auto_revision_risk:
        return (
            f"Risk {revision.risk:.2f} is above the {policy.max_auto_revision_risk:.2f} the "
            "optimizer may take alone."
        )
    if revision.kind == "resize_audience":
        return "Changing who receives the campaign always needs a person."
    if revision.kind == "shift_allocation":
        shift = _number(revision.params.get("max_shift"))
        if shift is None:
            return "The allocation change does not state its largest shift (params.max_shift)."
        if abs(shift) > policy.max_auto_allocation_shift:
            return (
                f"One arm's share would change by {abs(shift):.0%}, more than the "
                f"{policy.max_auto_allocation_shift:.0%} the optimizer may shift alone."
            )
    if revision.kind == "change_offer":
        pct = _number(revision.params.get("percent"))
        if pct is not None and pct > policy.max_auto_discount_percent:
            return (
                f"The new discount ({pct:g}%) is above the "
                f"{policy.max_auto_discount_percent:g}% the optimizer may set alone."
            )
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None
