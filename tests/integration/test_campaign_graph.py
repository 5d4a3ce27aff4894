"""The campaign graph end to end on a real database: plan → content → guardrails → approval
(interrupt, resumed from a second process) → activation writes the outbox."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core import campaigns as repo
from core.db import AssignmentRow, DecisionRow, MessageRow
from core.models import ApprovalStatus
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, run_cli


def _count(deps: Deps, *where: object) -> int:
    with deps.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(MessageRow).where(*where)) or 0)


def test_brief_pauses_for_approval_and_resumes_in_another_process(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF)
    assert res.status == "awaiting_approval", res
    assert res.approval_id
    assert res.audience_size > 50
    # the holdout is reserved before anything is sent, at about 10 %
    assert 0.04 < res.holdout_size / res.audience_size < 0.17
    assert len(res.variants) == 4 and all(v.status == "active" for v in res.variants)
    # nothing reaches the outbox before a human decides
    assert _count(world, MessageRow.campaign_id == res.campaign_id) == 0
    pending = repo.list_approvals(world.db, status=ApprovalStatus.PENDING)
    assert [a.id for a in pending] == [res.approval_id]
    assert "approval" in pending[0].reason.lower() or pending[0].reason

    # the approval queue as another process sees it
    out = run_cli(world.settings, "approvals", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[0]["id"] == res.approval_id

    # approve from a new process: the graph resumes from the SQLite checkpoint
    out = run_cli(world.settings, "approve", res.approval_id, "--by", "qa")
    assert out.returncode == 0, out.stderr + out.stdout
    assert repo.get_campaign(world.db, res.campaign_id).status == "active"

    cid = res.campaign_id
    with world.db.session() as s:
        groups = dict(
            s.execute(
                select(AssignmentRow.customer_id, AssignmentRow.group).where(
                    AssignmentRow.campaign_id == cid
                )
            ).all()
        )
        msgs = s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)).all()
        audit = [
            r.action
            for r in s.scalars(
                select(DecisionRow).where(DecisionRow.campaign_id == cid).order_by(DecisionRow.id)
            )
        ]
    treated = [c for c, g in groups.items() if g == "treated"]
    # one row per treated person and step; no holdout member gets anything
    assert len(msgs) == 2 * len(treated)
    assert all(groups[m.customer_id] == "treated" for m in msgs)
    assert len({m.idempotency_key for m in msgs}) == len(msgs)
    scheduled = [m for m in msgs if m.status == "scheduled"]
    assert scheduled, "some messages are scheduled"
    assert all(m.scheduled_at >= NOW for m in scheduled)
    for m in msgs:
        if m.status == "skipped":
            assert m.skip_reason in {"no_consent", "no_address", "guardrail_block"}
    emails = [m for m in scheduled if m.channel == "email"]
    # the unsubscribe line is in the person's language (the kit's locales) or English
    labels = ["Unsubscribe:", *(t.footer.unsubscribe + ":" for t in world.kit.locales.values())]
    assert emails and all(any(x in m.body for x in labels) and "/u/" in m.body for m in emails)
    assert any("Abmelden:" in m.body for m in emails)  # German customers read German
    sms = [m for m in scheduled if m.channel == "sms"]
    assert all("STOP" in m.body for m in sms)
    # a person keeps the same arm across steps
    arms: dict[str, set[str]] = {}
    for m in msgs:
        arms.setdefault(m.customer_id, set()).add(m.arm)
    assert all(len(a) == 1 for a in arms.values())
    assert {"planned", "wrote_variants", "passed", "approved_launch", "outbox_written"} <= set(
        audit
    )


def test_rejection_sends_nothing(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF)
    assert res.approval_id
    out = run_cli(world.settings, "reject", res.approval_id, "--by", "qa", "--comment", "off-brand")
    assert out.returncode == 0, out.stderr
    assert repo.get_campaign(world.db, res.campaign_id).status == "rejected"
    assert _count(world, MessageRow.campaign_id == res.campaign_id) == 0
    # deciding twice is refused with a clear message
    again = run_cli(world.settings, "approve", res.approval_id, "--by", "qa")
    assert again.returncode != 0
    assert "already rejected" in again.stderr


def test_vague_brief_gets_questions_and_no_plan(world: Deps) -> None:
    res = submit_brief(world, "Send something to people by email please")
    assert res.status == "needs_input"
    assert res.questions and res.plan is None
    assert repo.get_campaign(world.db, res.campaign_id).status == "needs_input"
    assert repo.list_approvals(world.db) == []


def test_unknown_approval_is_a_clear_error(world: Deps) -> None:
    out = run_cli(world.settings, "approve", "apr_nope", "--by", "qa")
    assert out.returncode == 2
    assert "No approval 'apr_nope'" in out.stderr


def test_worker_once_sends_what_is_due_and_nothing_twice(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF)
    assert res.approval_id
    run_cli(world.settings, "approve", res.approval_id, "--by", "qa")
    cid = res.campaign_id
    due = _count(
        world,
        MessageRow.campaign_id == cid,
        MessageRow.step_id == "s1",
        MessageRow.status == "scheduled",
    )
    assert due > 0
    # nothing is due yet at the campaign clock (10:00 local is in the future everywhere)
    early = run_cli(world.settings, "worker", "--once", "--as-of", NOW.isoformat())
    assert early.returncode == 0, early.stderr
    assert _count(world, MessageRow.campaign_id == cid, MessageRow.status == "sent") == 0

    later = NOW.replace(hour=0) + timedelta(days=2)
    out = run_cli(world.settings, "worker", "--once", "--as-of", later.isoformat())
    assert out.returncode == 0, out.stderr
    sent = _count(world, MessageRow.campaign_id == cid, MessageRow.status == "sent")
    deferred = _count(
        world,
        MessageRow.campaign_id == cid,
        MessageRow.step_id == "s1",
        MessageRow.status == "scheduled",
        MessageRow.scheduled_at > later,
    )
    # step 1 went out, except where it is night for the person: those wait, none is dropped;
    # step 2 (72 h later) is not due yet
    assert sent > 0 and sent + deferred == due
    assert (
        _count(
            world,
            MessageRow.campaign_id == cid,
            MessageRow.step_id == "s2",
            MessageRow.status == "sent",
        )
        == 0
    )
    files = list((world.settings.data_dir / "sent").rglob("*.*"))
    assert len(files) == sent
    again = run_cli(world.settings, "worker", "--once", "--as-of", later.isoformat())
    assert again.returncode == 0
    assert len(list((world.settings.data_dir / "sent").rglob("*.*"))) == sent


def test_a_crash_during_activation_resumes_without_duplicates(
    world: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.journeys as journeys
    from agents.activation import schedule_campaign as real
    from graphs.operations import decide, resume

    def crash_half_way(*args: Any, **kwargs: Any) -> Any:
        kwargs["treated"] = kwargs["treated"][: len(kwargs["treated"]) // 2]
        real(*args, **kwargs)
        raise RuntimeError("worker lost power")

    res = submit_brief(world, WINBACK_BRIEF)
    assert res.approval_id
    monkeypatch.setattr(journeys, "schedule_campaign", crash_half_way)
    with pytest.raises(RuntimeError, match="lost power"):
        decide(world, res.approval_id, approved=True, decided_by="qa")
    half = _count(world, MessageRow.campaign_id == res.campaign_id)
    assert half > 0
    monkeypatch.setattr(journeys, "schedule_campaign", real)
    done = resume(world, res.campaign_id)
    assert done.status == "active"
    with world.db.session() as s:
        keys = list(
            s.scalars(
                select(MessageRow.idempotency_key).where(MessageRow.campaign_id == res.campaign_id)
            )
        )
        treated = s.scalar(
            select(func.count())
            .select_from(AssignmentRow)
            .where(AssignmentRow.campaign_id == res.campaign_id, AssignmentRow.group == "treated")
        )
    assert len(keys) == len(set(keys)) == 2 * treated > half
