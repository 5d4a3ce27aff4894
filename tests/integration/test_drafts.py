"""Drafts: one campaign graph thread per brief. Answers resume the paused graph (no re-typed
brief), change requests re-plan with the brief and every follow-up, a reviewed plan is
submitted, a rejected plan is revised into a new approval request, and the conversation is
stored in order. Real SQLite, real Chroma, the offline engine."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core import campaigns as repo
from core.audit import list_decisions
from core.customers import get_customers
from core.db import AssignmentRow, MessageRow
from core.drafts import list_messages
from core.models import Channel
from graphs.campaign import launch_approval_id
from graphs.operations import (
    DraftConflict,
    FourEyesError,
    decide,
    reply_to_draft,
    submit_brief,
    submit_draft,
)
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, run_cli
from tools.audience import compute_features


def _kinds(world: Deps, cid: str) -> list[str]:
    return [f"{m.role}:{m.kind}" for m in list_messages(world.db, cid)]


def test_an_answer_resumes_the_same_thread_without_retyping_the_brief(world: Deps) -> None:
    first = submit_brief(world, "send some email to people", submitted_by="mia")
    assert first.status == "needs_input" and first.waiting_for == "answer" and first.questions
    campaigns_before = len(repo.list_campaigns(world.db))

    res = reply_to_draft(
        world,
        first.campaign_id,
        "Win back customers who haven't ordered in the last 3 months with 10% off, code "
        "COMEBACK10.",
        by="mia",
    )
    assert res.campaign_id == first.campaign_id
    assert len(repo.list_campaigns(world.db)) == campaigns_before  # no new draft
    assert res.status == "awaiting_approval" and res.approval_id == launch_approval_id(
        first.campaign_id
    )
    assert res.plan is not None and res.plan.objective.goal == "winback"
    # the brief's own words still count: "email" came from the brief, not the answer
    assert res.plan.objective.channels == [Channel.EMAIL]
    assert res.plan.objective.offer.code == "COMEBACK10"
    assert repo.get_campaign(world.db, first.campaign_id).brief == "send some email to people"
    assert _kinds(world, first.campaign_id) == [
        "marketer:brief",
        "planner:questions",
        "marketer:answer",
        "planner:plan",
    ]
    reply = list_messages(world.db, first.campaign_id)[-1]
    assert "waits for an approver" in reply.text and reply.data["approval_id"] == res.approval_id
    # the answer is audited with who gave it
    answered = [d for d in list_decisions(world.db, first.campaign_id) if d.action == "answered"]
    assert answered and answered[0].evidence["by"] == "mia"


def test_changes_revise_the_plan_before_it_is_submitted(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF, submitted_by="mia", review=True)
    cid = res.campaign_id
    assert res.waiting_for == "review" and res.status == "planned" and not res.approval_id
    assert repo.list_approvals(world.db) == []  # nothing goes to an approver before submit
    assert res.plan is not None and res.plan.objective.channels == [Channel.EMAIL, Channel.SMS]
    before = res.audience_size

    sms = reply_to_draft(world, cid, "SMS only", by="mia")
    assert sms.waiting_for == "review" and sms.plan is not None
    assert sms.plan.objective.channels == [Channel.SMS]
    assert {st.channel for st in sms.plan.journey} == {Channel.SMS}
    assert sms.plan.objective.offer.percent == 10

    no_offer = reply_to_draft(world, cid, "drop the discount", by="mia")
    assert no_offer.plan is not None and no_offer.plan.objective.offer.kind == "none"
    assert no_offer.plan.objective.channels == [Channel.SMS]  # the earlier change is kept

    # win-back people lapsed 90+ days ago, so this leaves no one out here (a sale, below, shrinks)
    excl = reply_to_draft(world, cid, "exclude people who bought in the last week", by="mia")
    assert excl.plan is not None
    assert [f.value for f in excl.plan.audiences[0].exclusions] == [7.0]
    assert "last 7 days" in excl.plan.audiences[0].name
    assert excl.audience_size <= before

    out = submit_draft(world, cid, by="mia")
    assert out.status == "awaiting_approval" and out.approval_id == launch_approval_id(cid)
    assert out.variants and {v.channel for v in out.variants} == {Channel.SMS}
    assert _kinds(world, cid) == [
        "marketer:brief",
        "planner:plan",
        "marketer:change",
        "planner:plan",
        "marketer:change",
        "planner:plan",
        "marketer:change",
        "planner:plan",
        "marketer:submit",
        "planner:waiting",
    ]
    notes = list_messages(world.db, cid)[3].data["assumptions"]
    assert "Change: sms only." in notes
    # waiting for an approver: the plan cannot change, and cannot be submitted twice
    with pytest.raises(DraftConflict, match="waits for an approver"):
        reply_to_draft(world, cid, "email only", by="mia")
    with pytest.raises(DraftConflict, match="already submitted"):
        submit_draft(world, cid, by="mia")


def test_a_language_change_writes_every_message_in_that_language(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF, submitted_by="mia", review=True)
    cid = res.campaign_id
    assert res.plan is not None and res.plan.objective.language is None
    assert "Language: each person's own" in list_messages(world.db, cid)[-1].text

    german = reply_to_draft(world, cid, "make it German", by="mia")
    assert german.plan is not None and german.plan.objective.language == "de"
    reply = list_messages(world.db, cid)[-1]
    assert "Language: German (de) for everyone." in reply.text
    assert any(a.startswith("Change: every message in German (de)") for a in german.assumptions)
    again = reply_to_draft(world, cid, "auf Deutsch bitte", by="mia")
    assert again.plan is not None and again.plan.objective.language == "de"
    assert "No change: the copy language is already German (de) for everyone." in again.assumptions

    # a language the brand kit has no copy in is refused, with the reason, and nothing else moves
    spanish = reply_to_draft(world, cid, "make it Spanish", by="mia")
    assert spanish.plan is not None and spanish.plan.objective.language is None
    assert any("no copy in Spanish (es)" in a for a in spanish.assumptions)
    assert spanish.plan.objective.offer.code == "COMEBACK10"

    french = reply_to_draft(world, cid, "send it in French only", by="mia")
    assert french.plan is not None and french.plan.objective.language == "fr"
    submitted = submit_draft(world, cid, by="mia")
    assert submitted.approval_id
    decide(world, submitted.approval_id, approved=True, decided_by="ana")
    with world.db.session() as s:
        msgs = s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)).all()
    emails = [m for m in msgs if m.channel == "email" and m.status == "scheduled"]
    people = get_customers(world.db, {m.customer_id for m in emails})
    locales = {cid: c.locale for cid, c in people.items()}
    assert {locales[m.customer_id].split("-")[0] for m in emails} > {"fr"}  # not only French
    # everyone reads French, whatever their own locale: copy, footer and opt-out
    assert emails and all("Se désabonner: " in m.body for m in emails)
    assert not any("Unsubscribe:" in m.body or "Abmelden:" in m.body for m in emails)

    other = submit_brief(world, WINBACK_BRIEF + " Make it Japanese.", review=True)
    assert other.plan is not None and other.plan.objective.language == "ja"  # said in the brief
    own = reply_to_draft(world, other.campaign_id, "in the customer's own language", by="mia")
    assert own.plan is not None and own.plan.objective.language is None
    assert any(
        a.startswith("Change: each person gets the copy in their own") for a in own.assumptions
    )


def test_leaving_out_recent_buyers_narrows_the_audience(world: Deps) -> None:
    brief = "Run a weekend sale: 15% off with code WEEKEND15, by email."
    res = submit_brief(world, brief, submitted_by="mia", review=True)
    assert res.plan is not None and res.waiting_for == "review"
    excl = reply_to_draft(
        world, res.campaign_id, "Exclude people who bought in the last week", by="mia"
    )
    assert excl.audience_size < res.audience_size
    with world.db.session() as s:
        members = list(
            s.scalars(
                select(AssignmentRow.customer_id).where(
                    AssignmentRow.campaign_id == res.campaign_id
                )
            )
        )
        feats = compute_features(s, as_of=NOW, customer_ids=members)
    assert len(members) == excl.audience_size
    recent = [c for c, f in feats.items() if f.recency_days is not None and f.recency_days <= 7]
    assert recent == []


def test_a_rejected_plan_is_revised_and_resubmitted_in_its_thread(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF, submitted_by="mia")
    cid, first_aid = res.campaign_id, res.approval_id
    assert first_aid
    decide(world, first_aid, approved=False, decided_by="qa", comment="No SMS this month.")
    assert repo.get_campaign(world.db, cid).status == "rejected"
    steps_before = {v.step_id for v in repo.load_variants(world.db, cid)}
    assert steps_before == {"s1", "s2"}

    again = reply_to_draft(world, cid, "email only", by="mia")
    assert again.status == "awaiting_approval"
    assert again.approval_id == launch_approval_id(cid, 2) != first_aid
    assert again.plan is not None and again.plan.objective.channels == [Channel.EMAIL]
    # the rejected plan's SMS variants are gone; only the revised plan's messages remain
    assert {v.channel for v in repo.load_variants(world.db, cid)} == {Channel.EMAIL}
    assert repo.get_approval(world.db, first_aid).status == "rejected"
    # four-eyes still applies to the new request
    with pytest.raises(FourEyesError):
        decide(world, again.approval_id, approved=True, decided_by="mia")
    done = decide(world, again.approval_id, approved=True, decided_by="ana")
    assert done.campaign_status == "active" and "Launched" in done.effect
    actions = [d.action for d in list_decisions(world.db, cid)]
    assert actions.index("rejected_launch") < actions.index("revised_rejected_plan")
    assert actions.index("revised_rejected_plan") < actions.index("approved_launch")
    kinds = _kinds(world, cid)
    assert kinds[kinds.index("approver:decision") + 1 :] == [
        "marketer:change",
        "planner:plan",
        "approver:decision",
    ]
    rejected = next(m for m in list_messages(world.db, cid) if m.kind == "decision")
    assert "No SMS this month." in rejected.text and "Revise" in rejected.text
    with pytest.raises(DraftConflict, match="active"):
        reply_to_draft(world, cid, "SMS only", by="mia")


def test_cli_continues_a_draft(world: Deps) -> None:
    out = run_cli(world.settings, "brief", "send some email to people", "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["waiting_for"] == "answer"
    out = run_cli(
        world.settings,
        "brief",
        "--draft",
        first["campaign_id"],
        "Win back lapsed customers with 10% off, code COMEBACK10.",
    )
    assert out.returncode == 0, out.stderr
    assert first["campaign_id"] in out.stdout or "Waiting for approval" in out.stdout
    assert repo.get_campaign(world.db, first["campaign_id"]).status == "awaiting_approval"
    out = run_cli(world.settings, "brief", "--draft", first["campaign_id"], "SMS only")
    assert out.returncode == 2 and "waits for an approver" in out.stderr
