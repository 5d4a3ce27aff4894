"""Operations that run the graphs, shared by the CLI, the API and the worker: submit a brief,
resume a campaign, carry out a human decision, optimize a campaign. Each runs the campaign or
optimization graph with the persistent checkpointer.

What runs no graph lives elsewhere: the campaign report in `agents/reporting.py`, the dispatch
cycle in `tools/delivery/dispatch.py` (`dispatch_due`), the campaign queries in
`core/campaigns.py`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field

from agents import optimizer
from agents.activation import ActivationReport
from core import campaigns as repo
from core.audit import record_decision
from core.models import CampaignStatus, Plan, Revision, RevisionStatus, VariantTemplate
from core.revisions import set_revision_status
from graphs.campaign import build_campaign_graph
from graphs.checkpointer import sqlite_checkpointer
from graphs.optimization import apply_revision, build_optimization_graph
from graphs.runtime import Deps


class BriefResult(BaseModel):
    """What happened to a brief: questions, a pending approval, or an active campaign."""

    campaign_id: str
    """The campaign created for the brief."""
    status: CampaignStatus
    """needs_input, awaiting_approval, active, rejected or failed."""
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


@contextmanager
def _campaign_graph(deps: Deps) -> Iterator[CompiledStateGraph[Any, Any, Any, Any]]:
    saver = sqlite_checkpointer(deps.settings.checkpoint_path)
    try:
        yield build_campaign_graph(saver)
    finally:
        saver.conn.close()


def _result(campaign_id: str, values: dict[str, Any], interrupts: list[Any]) -> BriefResult:
    status = values.get("status") or (
        CampaignStatus.AWAITING_APPROVAL if interrupts else CampaignStatus.PLANNED
    )
    reasons: list[str] = []
    approval_id = values.get("approval_id")
    for it in interrupts:
        payload = getattr(it, "value", {}) or {}
        approval_id = payload.get("approval_id", approval_id)
        reasons = list(payload.get("reasons", []))
    return BriefResult(
        campaign_id=campaign_id,
        status=status,
        questions=values.get("questions", []),
        assumptions=values.get("assumptions", []),
        plan=values.get("plan"),
        audience_size=values.get("audience_size", 0),
        holdout_size=values.get("holdout_size", 0),
        variants=values.get("variants", []),
        approval_id=approval_id,
        approval_reasons=reasons,
        activation=values.get("activation"),
    )


def submit_brief(
    deps: Deps, brief: str, *, submitted_by: str | None = None, now: datetime | None = None
) -> BriefResult:
    """Create a campaign for a brief and run the graph until it needs a human or is active.
    `submitted_by` (the logged-in user) may not decide its approvals when four-eyes is on."""
    if not brief or not brief.strip():
        raise ValueError("The brief is empty: describe the goal, the audience and the channels.")
    camp = repo.create_campaign(
        deps.db,
        brand_id=deps.kit.id,
        brief=brief.strip(),
        engine=deps.llm.engine,
        created_by=submitted_by,
    )
    config: RunnableConfig = {"configurable": {"thread_id": camp.thread_id}}
    clock = now or deps.clock()
    with _campaign_graph(deps) as graph:
        try:
            graph.invoke(
                {"campaign_id": camp.id, "brief": brief.strip(), "now": clock.isoformat()},
                config,
                context=deps,
            )
        except Exception as exc:
            repo.set_campaign_status(deps.db, camp.id, CampaignStatus.FAILED)
            record_decision(
                deps.db, campaign_id=camp.id, agent="graph", action="failed", reason=str(exc)
            )
            raise
        snap = graph.get_state(config)
    return _result(camp.id, dict(snap.values), list(snap.interrupts))


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
            f"Launched: {act.scheduled} messages scheduled."
            if approved
            else "Campaign rejected; nothing will be sent."
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
