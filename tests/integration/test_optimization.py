"""The optimization graph on real outcomes: measure against the holdout, propose, and apply
within thresholds or queue for a human — once, however often the worker runs."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.demo import _run_worker, _simulate
from core import campaigns as repo
from core.catalog import list_products
from core.db import MessageRow, RevisionRow
from core.models import ApprovalStatus, Outcome, OutcomeKind
from core.outcomes import record_outcomes
from core.settings import Settings
from graphs.operations import decide, optimize, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded
from tools.sandbox.simulator import ResponseSimulator


def _launch_and_send_step1(world: Deps) -> str:
    res = submit_brief(world, WINBACK_BRIEF)
    assert res.approval_id
    decide(world, res.approval_id, approved=True, decided_by="qa")
    cid = res.campaign_id
    _run_worker(world, NOW, NOW + timedelta(hours=26))
    sim = ResponseSimulator(seed=3, products={p.id: p for p in list_products(world.db)})
    _simulate(
        world,
        sim,
        cid,
        step_id="s1",
        assigned=repo.assignments(world.db, cid),
        as_of=NOW + timedelta(hours=26),
    )
    return cid


def test_measurement_has_lift_with_interval_and_arms(world: Deps) -> None:
    cid = _launch_and_send_step1(world)
    from agents.optimizer import measure

    m = measure(world.db, cid)
    assert m.treated_n > 0 and m.holdout_n > 0
    lift = m.conversion_lift
    assert lift is not None and lift.ci_low <= lift.estimate <= lift.ci_high
    assert lift.treated_value == m.conversions_treated / m.treated_n
    assert {a.arm for a in m.arms} == {"A", "B"}
    assert 0 < sum(a.people for a in m.arms) <= m.messages_sent
    assert {(st.step_id, st.arm) for st in m.steps} == {("s1", "A"), ("s1", "B")}
    assert all(max(st.opened, st.clicked, st.converted) <= st.people for st in m.steps)


def test_big_shift_waits_for_a_human_once_then_applies(settings: Settings) -> None:
    world = seeded(settings, customers=4000, with_rules=False)  # enough sends per arm
    strict = world.kit.approval_policy.model_copy(
        update={"max_auto_allocation_shift": 0.0, "max_auto_revision_risk": 0.0}
    )
    world.kit = world.kit.model_copy(update={"approval_policy": strict})
    res = submit_brief(world, WINBACK_BRIEF)
    assert res.approval_id
    decide(world, res.approval_id, approved=True, decided_by="qa")
    cid = res.campaign_id
    _run_worker(world, NOW, NOW + timedelta(hours=26))
    # outcomes with a clear winner: every 4th arm-A send converts, every 20th arm-B send
    with world.db.session() as s:
        sent = s.scalars(
            select(MessageRow).where(MessageRow.campaign_id == cid, MessageRow.status == "sent")
        ).all()
        counts = {"A": 0, "B": 0}
        outcomes = []
        for m in sent:
            counts[m.arm] += 1
            if counts[m.arm] % (4 if m.arm == "A" else 20) == 0:
                outcomes.append(
                    Outcome(
                        campaign_id=cid,
                        customer_id=m.customer_id,
                        message_id=m.id,
                        kind=OutcomeKind.CONVERTED,
                        value=50.0,
                        at=NOW + timedelta(hours=30),
                    )
                )
    assert min(counts.values()) >= 200, counts  # enough evidence per arm to act on
    record_outcomes(world.db, outcomes)
    out = optimize(world, cid, as_of=NOW + timedelta(hours=27))
    outcomes = out.outcomes
    assert len(outcomes) == 1 and outcomes[0].status == "queued"
    # the worker runs again before anyone answers: no second question
    again = optimize(world, cid, as_of=NOW + timedelta(hours=28))
    assert again.outcomes == []
    pending = [
        a
        for a in repo.list_approvals(world.db, status=ApprovalStatus.PENDING)
        if a.kind == "revision"
    ]
    assert len(pending) == 1
    with world.db.session() as s:
        before = {
            m.id: m.arm
            for m in s.scalars(
                select(MessageRow).where(
                    MessageRow.campaign_id == cid, MessageRow.status == "scheduled"
                )
            )
        }
    res = decide(world, pending[0].id, approved=True, decided_by="ana")
    assert "Revision applied" in res.effect
    description = outcomes[0].description
    assert "Declare arm A the winner" in description and "always-valid" in description
    with world.db.session() as s:
        rev = s.scalars(select(RevisionRow).where(RevisionRow.campaign_id == cid)).one()
        rows = s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)).all()
    assert rev.status == "applied" and rev.params["winner"] == "A"
    after = {m.id: m.arm for m in rows if m.status == "scheduled"}
    # A person keeps their arm for the whole journey: follow-ups of people already sent step 1
    # never move, whatever the new weights say.
    arm_of_sent = {m.customer_id: m.arm for m in rows if m.status == "sent"}
    follow_ups = [m for m in rows if m.status == "scheduled" and m.customer_id in arm_of_sent]
    assert follow_ups, "step 2 is still scheduled for people who got step 1"
    assert all(m.arm == arm_of_sent[m.customer_id] for m in follow_ups)
    # only people not contacted yet are re-drawn, and the winner takes them all
    customer = {m.id: m.customer_id for m in rows}
    moved = [k for k in before if k in after and before[k] != after[k]]
    assert all(customer[k] not in arm_of_sent and after[k] == "A" for k in moved)
    # every message records the probability with which its arm was chosen
    assert {m.propensity for m in rows if m.status == "sent"} == {0.5}
