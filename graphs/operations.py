"""Operations that run the graphs, shared by the CLI, the API, the pages and the worker: submit
a brief, answer the planner or ask for a change in the same draft, submit a reviewed plan,
resume a campaign, carry out a human decision, optimize a campaign. Each runs the campaign or
optimization graph with the persistent checkpointer.

A draft is one campaign graph thread. What is said in it (the brief, the planner's questions and
plan summaries, answers, change requests, decisions) is kept in `core.drafts`.

What runs no graph lives elsewhere: the campaign report in `agents/reporting.py`, the dispatch
cycle in `tools/delivery/dispatch.py` (`dispatch_due`), the campaign queries in
`core/campaigns.py`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from agents import optimizer
from agents.activation import ActivationReport
from core import campaigns as repo
from core import drafts
from core.audit import record_decision
from core.models import CampaignStatus, Plan, Revision, RevisionStatus, VariantTemplate
from core.revisions import set_revision_status
from graphs.campaign import build_campaign_graph
from graphs.checkpointer import sqlite_checkpointer
from graphs.optimization import apply_revision, build_optimization_graph
from graphs.runtime import Deps
from graphs.thread import record_reply

Waiting = Literal["answer", "review", "approval"]
"""What a paused draft waits for: an answer to the planner's questions, the marketer's review
of the plan (a change or the submission), or an approver's decision."""
OnStep = Callable[[str], None]
"""Called with each graph node's name as it finishes (progress for the pages)."""
DraftRun = Callable[[OnStep | None], "BriefResult"]
"""The graph run a draft message asks for, checked and recorded, not yet run (the pages run
it in the background)."""


class BriefResult(BaseModel):
    """What happened to a brief: questions, a pending approval, or an active campaign."""

    campaign_id: str
    """The campaign created for the brief."""
    status: CampaignStatus
    """needs_input, awaiting_approval, activating, active, rejected or failed."""
    questions: list[str] = Field(default_factory=list)
    """Clarifying questions (status needs_input)."""
    assumptions: list[str] = Field(default_factory=list)
    """What the planner assumed."""
    plan: Plan | None = None
    """The plan."""
    audience_size: int = 0
    """Contactable people in the audience."""
    holdout_size: int = 0
    """People held out."""
    variants: list[VariantTemplate] = Field(default_factory=list)
    """Variant templates."""
    approval_id: str | None = None
    """The pending launch approval, if any."""
    approval_reasons: list[str] = Field(default_factory=list)
    """Why it needs a human."""
    activation: ActivationReport | None = None
    """What activation wrote to the outbox."""
    waiting_for: Waiting | None = None
    """What the draft waits for now: `answer` (reply with `autocmo brief --draft ID "…"` or
    `POST /briefs/{id}/messages`), `review` (a change request, or the submission), `approval`."""


@contextmanager
def _campaign_graph(deps: Deps) -> Iterator[CompiledStateGraph[Any, Any, Any, Any]]:
    saver = sqlite_checkpointer(deps.settings.checkpoint_path)
    try:
        yield build_campaign_graph(saver)
    finally:
        saver.conn.close()


_WAITING: dict[str, Waiting] = {"questions": "answer", "review": "review", "approval": "approval"}


def _waiting(interrupts: list[Any]) -> tuple[Waiting | None, dict[str, Any]]:
    payload: dict[str, Any] = dict(getattr(interrupts[0], "value", {}) or {}) if interrupts else {}
    kind = payload.get("kind") or ("approval" if payload.get("approval_id") else None)
    return _WAITING.get(kind or ""), payload


def waiting_for(deps: Deps, campaign_id: str) -> Waiting | None:
    """What a draft waits for now (None: it is running, ended or live)."""
    camp = repo.get_campaign(deps.db, campaign_id)
    with _campaign_graph(deps) as graph:
        snap = graph.get_state({"configurable": {"thread_id": camp.thread_id}})
    return _waiting(list(snap.interrupts))[0]


def _result(campaign_id: str, values: dict[str, Any], interrupts: list[Any]) -> BriefResult:
    waiting, payload = _waiting(interrupts)
    status = values.get("status") or CampaignStatus.PLANNED
    if waiting == "approval":
        status = CampaignStatus.AWAITING_APPROVAL
    approval_id = payload.get("approval_id")
    if approval_id is None and status in (CampaignStatus.ACTIVE, CampaignStatus.REJECTED):
        approval_id = values.get("approval_id")
    return BriefResult(
        campaign_id=campaign_id,
        status=status,
        questions=values.get("questions", []) if status == CampaignStatus.NEEDS_INPUT else [],
        assumptions=values.get("assumptions", []),
        plan=values.get("plan"),
        audience_size=values.get("audience_size", 0),
        holdout_size=values.get("holdout_size", 0),
        variants=values.get("variants", []),
        approval_id=approval_id,
        approval_reasons=list(payload.get("reasons", [])),
        activation=values.get("activation"),
        waiting_for=waiting,
    )


def _advance(
    deps: Deps,
    campaign_id: str,
    graph_input: Any,
    config: RunnableConfig,
    on_step: OnStep | None,
) -> BriefResult:
    """Run the campaign graph until it pauses or ends; record the planner's reply in the draft.
    An error marks the campaign failed (audited, and said in the draft) and is raised."""
    ran: list[str] = []
    with _campaign_graph(deps) as graph:
        try:
            for update in graph.stream(graph_input, config, context=deps, stream_mode="updates"):
                for node in update:
                    if not node.startswith("__"):
                        ran.append(node)
                        if on_step is not None:
                            on_step(node)
        except Exception as exc:
            repo.set_campaign_status(deps.db, campaign_id, CampaignStatus.FAILED)
            record_decision(
                deps.db, campaign_id=campaign_id, agent="graph", action="failed", reason=str(exc)
            )
            drafts.add_message(
                deps.db,
                campaign_id,
                role="planner",
                kind="error",
                text=f"Something went wrong and the campaign failed: {exc}",
            )
            raise
        snap = graph.get_state(config)
    res = _result(campaign_id, dict(snap.values), list(snap.interrupts))
    record_reply(deps.db, res, replanned="plan" in ran)
    return res


class DraftConflict(ValueError):
    """The draft is not where this message fits (it waits for an approver, or is live)."""


def open_draft(deps: Deps, brief: str, *, submitted_by: str | None = None) -> str:
    """Create the campaign (the draft) for a brief and start its conversation; returns its id.
    Nothing runs yet: `plan_draft` does."""
    if not brief or not brief.strip():
        raise ValueError("The brief is empty: describe the goal, the audience and the channels.")
    camp = repo.create_campaign(
        deps.db,
        brand_id=deps.kit.id,
        brief=brief.strip(),
        engine=deps.llm.engine,
        created_by=submitted_by,
    )
    drafts.add_message(
        deps.db, camp.id, role="marketer", kind="brief", text=brief.strip(), author=submitted_by
    )
    return camp.id


def plan_draft(
    deps: Deps,
    campaign_id: str,
    *,
    review: bool = False,
    now: datetime | None = None,
    on_step: OnStep | None = None,
) -> BriefResult:
    """Run a new draft's graph until it needs a human or is active. With `review` the plan
    waits for the marketer (changes, then `submit_draft`) before the content is written."""
    camp = repo.get_campaign(deps.db, campaign_id)
    config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
    first = {
        "campaign_id": camp.id,
        "brief": camp.brief,
        "now": (now or deps.clock()).isoformat(),
        "review": review,
        "round": 1,
        "follow_ups": [],
    }
    return _advance(deps, camp.id, first, config, on_step)


def submit_brief(
    deps: Deps,
    brief: str,
    *,
    submitted_by: str | None = None,
    now: datetime | None = None,
    review: bool = False,
) -> BriefResult:
    """Create a campaign for a brief and run the graph until it needs a human or is active.
    `submitted_by` (the logged-in user) may not decide its approvals when four-eyes is on."""
    cid = open_draft(deps, brief, submitted_by=submitted_by)
    return plan_draft(deps, cid, review=review, now=now)


def reply_to_draft(
    deps: Deps,
    campaign_id: str,
    text: str,
    *,
    by: str | None = None,
    now: datetime | None = None,
    on_step: OnStep | None = None,
) -> BriefResult:
    """The marketer's next message in a draft: an answer to the planner's questions (the graph
    resumes with it), a change request on a plan under review (the planner re-plans with the
    brief and every follow-up), or a revision of a rejected plan (a new round that ends in a new
    approval request). A draft waiting for an approver, or live, refuses (`DraftConflict`)."""
    return prepare_reply(deps, campaign_id, text, by=by, now=now)(on_step)


def prepare_reply(
    deps: Deps, campaign_id: str, text: str, *, by: str | None = None, now: datetime | None = None
) -> DraftRun:
    """`reply_to_draft` in two halves: check and record the message now, run the graph later."""
    text = text.strip()
    if not text:
        raise ValueError("The message is empty: write your answer or the change you want.")
    camp = repo.get_campaign(deps.db, campaign_id)
    config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
    clock = (now or deps.clock()).isoformat()
    with _campaign_graph(deps) as graph:
        snap = graph.get_state(config)
    values = dict(snap.values)
    waiting, payload = _waiting(list(snap.interrupts))
    graph_input: Any
    if waiting == "answer":
        kind: drafts.Kind = "answer"
        graph_input = Command(resume={"text": text, "by": by, "now": clock})
    elif waiting == "review":
        kind = "change"
        graph_input = Command(resume={"action": "change", "text": text, "by": by, "now": clock})
    elif not snap.next and values.get("status") == CampaignStatus.REJECTED:
        kind = "change"
        next_round = int(values.get("round", 1)) + 1
        graph_input = {
            "follow_ups": [*values.get("follow_ups", []), {"kind": "change", "text": text}],
            "round": next_round,
            "now": clock,
            "status": CampaignStatus.PLANNED.value,
        }
    elif waiting == "approval":
        raise DraftConflict(
            f"The plan waits for an approver ({payload.get('approval_id')}): it cannot change "
            "now. If it is rejected, revise it here and submit it again."
        )
    else:
        raise DraftConflict(
            f"Campaign {campaign_id} is {camp.status}: its plan can no longer change in this "
            "draft. Write a new brief instead."
        )
    drafts.add_message(deps.db, campaign_id, role="marketer", kind=kind, text=text, author=by)
    if isinstance(graph_input, dict):  # a new round after a rejection: no node audits it
        record_decision(
            deps.db,
            campaign_id=campaign_id,
            agent="human",
            action="revised_rejected_plan",
            reason=text,
            evidence={"by": by, "round": graph_input["round"]},
        )
    return partial(_advance, deps, campaign_id, graph_input, config)


def submit_draft(
    deps: Deps,
    campaign_id: str,
    *,
    by: str | None = None,
    now: datetime | None = None,
    on_step: OnStep | None = None,
) -> BriefResult:
    """Submit a reviewed plan: the content is written and checked, and the approval gate asks
    for a human (or launches within the brand's thresholds)."""
    return prepare_submit(deps, campaign_id, by=by, now=now)(on_step)


def prepare_submit(
    deps: Deps, campaign_id: str, *, by: str | None = None, now: datetime | None = None
) -> DraftRun:
    """`submit_draft` in two halves: check and record the submission now, run it later."""
    camp = repo.get_campaign(deps.db, campaign_id)
    config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
    with _campaign_graph(deps) as graph:
        snap = graph.get_state(config)
    waiting, _ = _waiting(list(snap.interrupts))
    if waiting != "review":
        what = {
            "answer": "the planner's questions need an answer first",
            "approval": "it was already submitted and waits for an approver",
        }.get(waiting or "", f"the campaign is {camp.status}")
        raise DraftConflict(f"Nothing to submit in campaign {campaign_id}: {what}.")
    drafts.add_message(
        deps.db, campaign_id, role="marketer", kind="submit", text="Submit for approval.", author=by
    )
    resume_with = {"action": "submit", "by": by, "now": (now or deps.clock()).isoformat()}
    return partial(_advance, deps, campaign_id, Command(resume=resume_with), config)


def resume(deps: Deps, campaign_id: str) -> BriefResult:
    """Continue a campaign's graph from its last checkpoint (after a crash or a failed step).

    Every node is idempotent, so a node that was interrupted half-way runs again safely.
    A campaign waiting for a human stays waiting.
    """
    camp = repo.get_campaign(deps.db, campaign_id)
    config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
    with _campaign_graph(deps) as graph:
        snap = graph.get_state(config)
        if not snap.next:
            return _result(campaign_id, dict(snap.values), [])
        if not snap.interrupts:
            graph.invoke(None, config, context=deps)
            snap = graph.get_state(config)
    return _result(campaign_id, dict(snap.values), list(snap.interrupts))


class FourEyesError(PermissionError):
    """The decider submitted the campaign; the brand's approval policy wants a second person."""


class DecisionResult(BaseModel):
    """The effect of a human decision."""

    approval: repo.ApprovalView
    """The decided approval."""
    campaign_status: str
    """The campaign's status afterwards."""
    effect: str
    """What changed, in words."""


def decide(
    deps: Deps,
    approval_id: str,
    *,
    approved: bool,
    decided_by: str,
    comment: str | None = None,
    now: datetime | None = None,
) -> DecisionResult:
    """Record a human decision and carry it out (resume the campaign graph, apply a revision)."""
    if not decided_by.strip():
        raise ValueError("Say who decides (e.g. --by jane@brand.com): every decision is audited.")
    approval = repo.get_approval(deps.db, approval_id)
    owner = repo.get_campaign(deps.db, approval.campaign_id).created_by
    if deps.kit.approval_policy.four_eyes and owner == decided_by:
        raise FourEyesError(
            f"{decided_by} submitted campaign {approval.campaign_id} and may not decide its "
            "approvals (four-eyes): ask another approver."
        )
    view = repo.decide_approval(
        deps.db, approval_id, approved=approved, decided_by=decided_by, comment=comment
    )
    cid = view.campaign_id
    if view.kind == "launch":
        camp = repo.get_campaign(deps.db, cid)
        config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
        with _campaign_graph(deps) as graph:
            graph.invoke(
                Command(resume={"approved": approved, "by": decided_by, "comment": comment}),
                config,
                context=deps,
            )
            values = dict(graph.get_state(config).values)
        status = values.get("status", "unknown")
        act = ActivationReport.model_validate(values.get("activation") or {})
        effect = (
            "Campaign rejected; nothing will be sent."
            if not approved
            else "Launched: activation jobs on the job queue are writing its messages; it "
            "becomes active when they are done."
            if status == CampaignStatus.ACTIVATING
            else f"Launched: {act.scheduled} messages scheduled."
        )
        drafts.add_message(
            deps.db,
            cid,
            role="approver",
            kind="decision",
            author=decided_by,
            text=(f"Approved by {decided_by}. " if approved else f"Rejected by {decided_by}. ")
            + (f"“{comment}” " if comment else "")
            + (effect if approved else "Revise the plan in this draft and submit it again."),
            data={"approval_id": approval_id, "approved": approved},
        )
        return DecisionResult(approval=view, campaign_status=status, effect=effect)

    payload = repo.approval_payload(deps.db, approval_id)
    rid = payload.get("revision_id")
    set_revision_status(
        deps.db, rid, RevisionStatus.APPROVED if approved else RevisionStatus.REJECTED
    )
    effect = "Revision rejected; nothing changed."
    if approved:
        rev = Revision.model_validate(payload["revision"])
        moved = apply_revision(deps, cid, rev, as_of=now or deps.clock())
        set_revision_status(deps.db, rid, RevisionStatus.APPLIED)
        effect = f"Revision applied: {moved} scheduled messages re-allocated."
    record_decision(
        deps.db,
        campaign_id=cid,
        agent="human",
        action="approved_revision" if approved else "rejected_revision",
        reason=comment or effect,
        evidence={"approval_id": approval_id, "by": decided_by},
    )
    return DecisionResult(
        approval=view, campaign_status=repo.get_campaign(deps.db, cid).status, effect=effect
    )


class RevisionOutcome(BaseModel):
    """What happened to one revision the optimizer proposed."""

    revision_id: str
    """The stored revision."""
    status: RevisionStatus
    """applied, or queued for a human."""
    approval_id: str | None
    """The approval it waits for (queued)."""
    reason: str
    """Why it applied or why it needs a human."""
    description: str
    """The revision in plain words."""
    risk: float
    """Its risk score."""


class OptimizationResult(BaseModel):
    """What one optimization run measured and did."""

    campaign_id: str
    """The campaign."""
    measurement: optimizer.Measurement | None = None
    """Lift against the holdout and per-arm results."""
    outcomes: list[RevisionOutcome] = Field(default_factory=list)
    """The revisions proposed in this run and what happened to each."""


def optimize(deps: Deps, campaign_id: str, *, as_of: datetime | None = None) -> OptimizationResult:
    """Run the optimization graph on one campaign."""
    repo.get_campaign(deps.db, campaign_id)
    graph = build_optimization_graph()
    out = graph.invoke(
        {"campaign_id": campaign_id, "as_of": (as_of or deps.clock()).isoformat()}, context=deps
    )
    return OptimizationResult(
        campaign_id=campaign_id,
        measurement=out.get("measurement"),
        outcomes=out.get("outcomes", []),
    )
