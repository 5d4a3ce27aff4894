"""The optimization graph: measure → propose → apply within thresholds, or queue for a human."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents import optimizer
from agents.activation import reallocate_scheduled
from core import campaigns as repo
from core.audit import record_decision
from core.db import new_id
from core.models import ApprovalStatus, Revision, RevisionStatus
from core.revisions import record_revision
from graphs.runtime import Deps
from graphs.state import OptimizationState


def apply_revision(deps: Deps, campaign_id: str, revision: Revision, *, as_of: datetime) -> int:
    """Apply a revision to the campaign; returns how many scheduled messages changed."""
    if revision.kind != "shift_allocation":
        raise ValueError(f"Revision kind {revision.kind!r} cannot be applied automatically yet.")
    plan = repo.latest_plan(deps.db, campaign_id)
    if plan is None:
        raise ValueError(f"Campaign {campaign_id} has no plan.")
    variants = optimizer.apply_weights(
        repo.load_variants(deps.db, campaign_id), dict(revision.params["weights"])
    )
    repo.save_variants(deps.db, campaign_id, variants)
    return reallocate_scheduled(
        deps.db,
        deps.settings,
        deps.kit,
        campaign_id=campaign_id,
        plan=plan,
        variants=variants,
        as_of=as_of,
    )


def build_optimization_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """Wire the optimizer: one run per campaign, idempotent on the same evidence; run it with
    `context=Deps(...)`."""
    g = StateGraph(OptimizationState, context_schema=Deps)
    g.add_node("measure", measure_node)
    g.add_node("propose", propose_node)
    g.add_node("decide", decide_node)
    g.add_edge(START, "measure")
    g.add_edge("measure", "propose")
    g.add_edge("propose", "decide")
    g.add_edge("decide", END)
    return g.compile()


def measure_node(state: OptimizationState, runtime: Runtime[Deps]) -> OptimizationState:
    """Measure lift against the holdout and the per-arm results."""
    deps = runtime.context
    m = optimizer.measure(deps.db, state["campaign_id"])
    return {"measurement": m.model_dump(mode="json")}


def propose_node(state: OptimizationState, runtime: Runtime[Deps]) -> OptimizationState:
    """Propose revisions from the measurement, unless one still waits for a human."""
    deps = runtime.context
    m = optimizer.Measurement.model_validate(state["measurement"])
    pending = [
        a.id
        for a in repo.list_approvals(deps.db, status=ApprovalStatus.PENDING)
        if a.campaign_id == m.campaign_id and a.kind == "revision"
    ]
    if pending:
        # One open question at a time: a human has not answered the last revision yet.
        record_decision(
            deps.db,
            campaign_id=m.campaign_id,
            agent="optimizer",
            action="waiting_for_approval",
            reason=f"Revision {pending[0]} still waits for a human; nothing new proposed.",
            evidence={"pending": pending},
        )
        return {"revisions": []}
    revisions = optimizer.propose(m)
    if not revisions:
        record_decision(
            deps.db,
            campaign_id=m.campaign_id,
            agent="optimizer",
            action="no_revision",
            reason=(
                "Not enough evidence to change the strategy (each arm needs "
                f"{optimizer.MIN_PEOPLE_PER_ARM} people and the arms together "
                f"{optimizer.MIN_CONVERSIONS} conversions), a winner is already declared, or "
                "the allocation is already right."
            ),
            evidence={"arms": [a.model_dump() for a in m.arms]},
        )
    return {"revisions": [r.model_dump(mode="json") for r in revisions]}


def decide_node(state: OptimizationState, runtime: Runtime[Deps]) -> OptimizationState:
    """Apply each revision within the brand's thresholds; queue the others for a human."""
    deps = runtime.context
    cid = state["campaign_id"]
    as_of = datetime.fromisoformat(state["as_of"])
    outcomes: list[dict[str, Any]] = []
    for raw in state.get("revisions", []):
        rev = Revision.model_validate(raw)
        rid = new_id("rev")
        reason = optimizer.review(deps.kit, rev)
        if reason is None:
            moved = apply_revision(deps, cid, rev, as_of=as_of)
            status, approval_id = RevisionStatus.APPLIED, None
            why = f"Within the brand's thresholds; {moved} scheduled messages re-allocated."
        else:
            approval_id = repo.request_approval(
                deps.db,
                campaign_id=cid,
                kind="revision",
                subject=rev.description,
                reason=reason,
                evidence=rev.evidence,
                requested_by="optimizer",
                payload={"revision_id": rid, "revision": rev.model_dump(mode="json")},
            )
            status, why = RevisionStatus.QUEUED, reason
        record_revision(deps.db, rid, cid, rev, status=status, approval_id=approval_id, reason=why)
        outcomes.append(
            {
                "revision_id": rid,
                "status": status.value,
                "approval_id": approval_id,
                "reason": why,
                "description": rev.description,
                "risk": rev.risk,
            }
        )
    return {"outcomes": outcomes}
