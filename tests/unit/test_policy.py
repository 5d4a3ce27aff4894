"""Approval policy: launches and optimizer revisions."""

from __future__ import annotations

from typing import Any

from brand_guardrails.kit import ApprovalPolicy
from brand_guardrails.policy import launch_review, revision_review
from core.models import (
    Audience,
    Finding,
    Goal,
    JourneyStep,
    Objective,
    Offer,
    Plan,
    Revision,
    Severity,
)

AUTO = ApprovalPolicy(launch_requires_approval=False)


def _plan(percent: float | None = None) -> Plan:
    offer = Offer(kind="percent_off", percent=percent) if percent is not None else Offer()
    return Plan(
        objective=Objective(name="n", goal=Goal.PROMOTION, offer=offer),
        audiences=[Audience(name="all")],
        journey=[JourneyStep(id="s1", channel="email", content_brief="b")],  # type: ignore[arg-type]
    )


def test_small_clean_launch_may_go_alone() -> None:
    assert launch_review(AUTO, plan=_plan(10), audience_size=500, findings=[]) == []


def test_launch_reasons() -> None:
    warn = Finding(rule_id="voice.shouting", severity=Severity.WARN, explanation="e")
    reasons = launch_review(ApprovalPolicy(), plan=_plan(25), audience_size=5000, findings=[warn])
    assert len(reasons) == 4
    assert "every launch" in reasons[0]
    assert "25%" in reasons[1] and "15%" in reasons[1]
    assert "5,000" in reasons[2]
    assert "voice.shouting" in reasons[3]


def test_thresholds_are_inclusive() -> None:
    assert launch_review(AUTO, plan=_plan(15), audience_size=2000, findings=[]) == []


def _rev(kind: str, risk: float = 0.1, **params: Any) -> Revision:
    return Revision(kind=kind, description="d", risk=risk, params=params)  # type: ignore[arg-type]


def test_revisions_within_policy_apply() -> None:
    p = ApprovalPolicy()
    assert revision_review(p, _rev("shift_allocation", max_shift=0.2)) is None
    assert revision_review(p, _rev("pause_arm")) is None
    assert revision_review(p, _rev("change_send_hour")) is None
    assert revision_review(p, _rev("change_offer", percent=10)) is None


def test_revisions_needing_a_human() -> None:
    p = ApprovalPolicy()
    assert "Risk 0.50" in (revision_review(p, _rev("pause_arm", risk=0.5)) or "")
    assert "40%" in (revision_review(p, _rev("shift_allocation", max_shift=0.4)) or "")
    assert "max_shift" in (revision_review(p, _rev("shift_allocation")) or "")
    assert "20%" in (revision_review(p, _rev("change_offer", percent=20)) or "")
    assert revision_review(p, _rev("resize_audience")) is not None


def _amount_plan(amount: float, minimum: float | None) -> Plan:
    offer = Offer(kind="amount_off", amount=amount, currency="USD", min_order=minimum)
    return _plan().model_copy(
        update={"objective": Objective(name="n", goal=Goal.PROMOTION, offer=offer)}
    )


def test_an_amount_off_is_weighed_against_its_minimum_order() -> None:
    ok = launch_review(AUTO, plan=_amount_plan(5, 50), audience_size=10, findings=[])
    assert ok == []  # 10 % of the minimum order: within the 15 % the agents may launch
    high = launch_review(AUTO, plan=_amount_plan(20, 50), audience_size=10, findings=[])
    assert len(high) == 1 and "40%" in high[0]
    open_ended = launch_review(AUTO, plan=_amount_plan(10, None), audience_size=10, findings=[])
    assert len(open_ended) == 1 and "no minimum order" in open_ended[0]
