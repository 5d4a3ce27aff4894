"""Operations the CLI, the API and the worker share: submit a brief, decide an approval,
optimize a campaign, report on it. Each runs the graphs with the persistent checkpointer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from agents import optimizer
from core import campaigns as repo
from core.audit import record_decision
from core.db import CampaignRow, LLMUsageRow, MessageRow, RevisionRow
from core.models import Revision
from graphs.campaign import build_campaign_graph
from graphs.checkpointer import sqlite_checkpointer
from graphs.optimization import apply_revision, build_optimization_graph
from graphs.runtime import Deps
from tools.channels.registry import build_adapters, close_adapters
from tools.dispatch import Dispatcher, DispatchPolicy, DispatchStats


class BriefResult(BaseModel):
    """What happened to a brief: questions, a pending approval, or an active campaign."""

    campaign_id: str
    """The campaign created for the brief."""
    status: str
    """needs_input, awaiting_approval, active, rejected or failed."""
    questions: list[str] = Field(default_factory=list)
    """Clarifying questions (status needs_input)."""
    assumptions: list[str] = Field(default_factory=list)
    """What the planner assumed."""
    plan: dict[str, Any] | None = None
    """The plan."""
    audience_size: int = 0
    """Contactable people in the audience."""
    holdout_size: int = 0
    """People held out."""
    variants: list[dict[str, Any]] = Field(default_factory=list)
    """Variant templates."""
    approval_id: str | None = None
    """The pending launch approval, if any."""
    approval_reasons: list[str] = Field(default_factory=list)
    """Why it needs a human."""
    activation: dict[str, Any] | None = None
    """What activation wrote to the outbox."""


@contextmanager
def _campaign_graph(deps: Deps) -> Iterator[CompiledStateGraph[Any, Any, Any, Any]]:
    saver = sqlite_checkpointer(deps.settings.checkpoint_path)
    try:
        yield build_campaign_graph(saver)
    finally:
        saver.conn.close()


def _result(campaign_id: str, values: dict[str, Any], interrupts: list[Any]) -> BriefResult:
    status = values.get("status") or ("awaiting_approval" if interrupts else "planned")
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


def submit_brief(deps: Deps, brief: str, *, now: datetime | None = None) -> BriefResult:
    """Create a campaign for a brief and run the graph until it needs a human or is active."""
    if not brief or not brief.strip():
        raise ValueError("The brief is empty: describe the goal, the audience and the channels.")
    camp = repo.create_campaign(
        deps.db, brand_id=deps.kit.id, brief=brief.strip(), engine=deps.llm.engine
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
            repo.set_campaign_status(deps.db, camp.id, "failed")
            with deps.db.session() as s:
                record_decision(
                    s, campaign_id=camp.id, agent="graph", action="failed", reason=str(exc)
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
        act = values.get("activation") or {}
        effect = (
            f"Launched: {act.get('scheduled', 0)} messages scheduled."
            if approved
            else "Campaign rejected; nothing will be sent."
        )
        return DecisionResult(approval=view, campaign_status=status, effect=effect)

    payload = repo.approval_payload(deps.db, approval_id)
    rid = payload.get("revision_id")
    with deps.db.session() as s:
        row = s.get(RevisionRow, rid) if rid else None
        if row is not None:
            row.status = "approved" if approved else "rejected"
    effect = "Revision rejected; nothing changed."
    if approved:
        rev = Revision.model_validate(payload["revision"])
        moved = apply_revision(deps, cid, rev, as_of=now or deps.clock())
        with deps.db.session() as s:
            row = s.get(RevisionRow, rid) if rid else None
            if row is not None:
                row.status = "applied"
        effect = f"Revision applied: {moved} scheduled messages re-allocated."
    with deps.db.session() as s:
        record_decision(
            s,
            campaign_id=cid,
            agent="human",
            action="approved_revision" if approved else "rejected_revision",
            reason=comment or effect,
            evidence={"approval_id": approval_id, "by": decided_by},
        )
    return DecisionResult(
        approval=view, campaign_status=repo.get_campaign(deps.db, cid).status, effect=effect
    )


def optimize(deps: Deps, campaign_id: str, *, as_of: datetime | None = None) -> dict[str, Any]:
    """Run the optimization graph on one campaign."""
    repo.get_campaign(deps.db, campaign_id)
    graph = build_optimization_graph()
    out = graph.invoke(
        {"campaign_id": campaign_id, "as_of": (as_of or deps.clock()).isoformat()}, context=deps
    )
    return dict(out)


def active_campaigns(deps: Deps) -> list[str]:
    """Ids of campaigns that are sending."""
    with deps.db.session() as s:
        return list(s.scalars(select(CampaignRow.id).where(CampaignRow.status == "active")))


def campaign_report(deps: Deps, campaign_id: str) -> dict[str, Any]:
    """Everything a marketer needs about one campaign: plan, outbox, lift, arms, revisions."""
    camp = repo.get_campaign(deps.db, campaign_id)
    m = optimizer.measure(deps.db, campaign_id)
    with deps.db.session() as s:
        status_counts = {
            st: int(n)
            for st, n in s.execute(
                select(MessageRow.status, func.count())
                .where(MessageRow.campaign_id == campaign_id)
                .group_by(MessageRow.status)
            )
        }
        skips = {
            r: int(n)
            for r, n in s.execute(
                select(MessageRow.skip_reason, func.count())
                .where(MessageRow.campaign_id == campaign_id, MessageRow.status == "skipped")
                .group_by(MessageRow.skip_reason)
            )
        }
        revisions = [
            {
                "id": r.id,
                "kind": r.kind,
                "description": r.description,
                "risk": r.risk,
                "status": r.status,
                "approval_id": r.approval_id,
            }
            for r in s.scalars(select(RevisionRow).where(RevisionRow.campaign_id == campaign_id))
        ]
        llm_calls = int(
            s.scalar(select(func.count()).where(LLMUsageRow.campaign_id == campaign_id)) or 0
        )
    plan = repo.latest_plan(deps.db, campaign_id)
    return {
        "campaign": camp.model_dump(),
        "plan": plan.model_dump(mode="json") if plan else None,
        "messages": status_counts,
        "skipped": skips,
        "measurement": m.model_dump(mode="json"),
        "revisions": revisions,
        "findings": repo.count_findings(deps.db, campaign_id),
        "llm_calls": llm_calls,
    }


def dispatch_due(
    deps: Deps,
    *,
    as_of: datetime | None = None,
    worker_id: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DispatchStats:
    """Send every message due as of `as_of` through the configured channel adapters;
    `should_stop` (polled between messages) makes it hand back what it claimed and return."""
    kit = deps.kit
    policy = DispatchPolicy(
        from_name=kit.sender.from_name,
        from_email=kit.sender.from_email,
        default_timezone=kit.default_timezone,
        quiet_start=kit.quiet_hours.start,
        quiet_end=kit.quiet_hours.end,
        frequency_caps={
            ch.value: (cap.max_messages, cap.days) for ch, cap in kit.frequency_caps.items()
        },
    )
    adapters = build_adapters(deps.settings)
    try:
        dispatcher = Dispatcher(
            deps.db,
            adapters,
            policy,
            deps.settings,
            worker_id=worker_id,
            batch_size=deps.settings.dispatch_batch_size,
            should_stop=should_stop,
        )
        return dispatcher.run_once(as_of=as_of or deps.clock())
    finally:
        close_adapters(adapters)
