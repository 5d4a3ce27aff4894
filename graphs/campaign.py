"""The campaign graph: brief → planner → content ⇄ guardrails → approval gate → activation.

Nodes return state updates; records go to the database as they are made. Three places pause
with `interrupt()` and resume from the persistent checkpointer, also in a new process: the
planner's clarifying questions (resumed with the marketer's answer), the marketer's review of
the plan in the brief chat (a change request re-plans, a submission goes on), and the approval
gate. A rejected plan ends the run; a change request starts the thread's next round from the
planner, with the brief and everything said since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agents import planner
from agents.activation_jobs import split_launch
from agents.content import write_variants
from agents.journeys import launch_outbox
from agents.review import blocking, review_variant
from brand_guardrails.policy import launch_review
from core import campaigns as repo
from core.audit import record_decision
from core.catalog import list_products
from core.models import CampaignStatus, Channel, Finding, Plan, Severity, VariantTemplate
from graphs.runtime import Deps
from graphs.state import CampaignState
from tools.audience import AudienceDraw, draw_audience

MAX_CONTENT_ATTEMPTS = 3
"""How many times a blocked variant goes back to the content agent before a human sees it."""


def launch_approval_id(campaign_id: str, round: int = 1) -> str:
    """The id of a campaign's launch approval in a submission round (stable, so a re-run does
    not duplicate it; a revised plan gets a new one)."""
    suffix = "" if round <= 1 else f"_{round}"
    return f"apr_{campaign_id.removeprefix('cmp_')}_launch{suffix}"


def build_campaign_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Wire the nodes into the campaign graph; run it with `context=Deps(...)`."""
    g = StateGraph(CampaignState, context_schema=Deps)
    g.add_node("plan", plan_node)
    g.add_node("ask", ask_node)
    g.add_node("review", review_node, destinations=("plan", "write"))
    g.add_node("write", write_node)
    g.add_node("check", check_node)
    g.add_node("gate", gate_node)
    g.add_node("activate", activate_node)
    g.add_node("reject", reject_node)
    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", route_after_plan)
    g.add_edge("ask", "plan")
    g.add_edge("write", "check")
    g.add_conditional_edges("check", route_after_check)
    g.add_conditional_edges("gate", route_after_gate)
    g.add_edge("activate", END)
    g.add_edge("reject", END)
    return g.compile(checkpointer=checkpointer)


def plan_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Parse the brief, draft the plan, draw the audience and its holdout; or ask questions."""
    deps = runtime.context
    cid = state["campaign_id"]
    now = datetime.fromisoformat(state["now"])
    products = list_products(deps.db)
    categories = sorted({p.category for p in products})
    follow_ups = [planner.FollowUp.model_validate(f) for f in state.get("follow_ups", [])]
    if state.get("variants"):  # re-planning: the previous plan's messages are void
        repo.delete_variants(deps.db, cid)
    parsed = planner.parse_brief(
        deps.llm,
        state["brief"],
        categories=categories,
        campaign_id=cid,
        now=now,
        products=products,
        follow_ups=follow_ups,
    )
    parsed = planner.language_in_kit(parsed, [deps.kit.default_locale, *sorted(deps.kit.locales)])
    if parsed.objective is None:
        repo.set_campaign_status(deps.db, cid, CampaignStatus.NEEDS_INPUT)
        _audit(
            deps,
            cid,
            "planner",
            "asked_questions",
            "The brief lacks essentials.",
            questions=parsed.questions,
        )
        return {
            "status": "needs_input",
            "questions": parsed.questions,
            "assumptions": parsed.assumptions,
        }
    try:
        plan = planner.draft_plan(
            deps.llm, parsed.objective, categories=categories, campaign_id=cid
        )
    except planner.PlanError as exc:
        repo.set_campaign_status(deps.db, cid, CampaignStatus.NEEDS_INPUT)
        _audit(deps, cid, "planner", "plan_rejected", str(exc))
        return {"status": "needs_input", "questions": [str(exc)]}
    if plan.objective.trigger is not None:  # people enter later, as their events arrive
        drawn = AudienceDraw(audience_of={}, treated=[], holdout=[])
    else:
        drawn = draw_audience(deps.db, cid, plan, as_of=now)
    if not drawn.audience_of and plan.objective.trigger is None:
        q = (
            "No contactable customer matches this audience "
            f"({'; '.join(a.name for a in plan.audiences)}). Widen it or choose another goal."
        )
        repo.set_campaign_status(deps.db, cid, CampaignStatus.NEEDS_INPUT)
        _audit(deps, cid, "planner", "empty_audience", q, plan=plan.model_dump(mode="json"))
        return {"status": "needs_input", "questions": [q], "plan": plan.model_dump(mode="json")}
    audience_of, treated, holdout = drawn.audience_of, drawn.treated, drawn.holdout
    repo.save_assignments(
        deps.db,
        cid,
        [(c, "treated", audience_of[c]) for c in treated]
        + [(c, "holdout", audience_of[c]) for c in holdout],
    )
    repo.save_plan(deps.db, cid, plan)
    repo.set_campaign_status(deps.db, cid, CampaignStatus.PLANNED, name=plan.objective.name)
    _audit(
        deps,
        cid,
        "planner",
        "planned",
        f"{plan.rationale} Audience {len(audience_of)} contactable people; "
        f"{len(holdout)} ({plan.holdout_fraction:.0%}) held out at random before any send.",
        plan=plan.model_dump(mode="json"),
        assumptions=[*parsed.assumptions, *plan.assumptions],
        treated=len(treated),
        holdout=len(holdout),
    )
    return {
        "status": "planned",
        "questions": [],
        "plan": plan.model_dump(mode="json"),
        "assumptions": [*parsed.assumptions, *plan.assumptions],
        "audience_size": len(audience_of),
        "holdout_size": len(holdout),
        "attempt": 0,
        "findings_total": 0,
        "variants": [],
        "feedback": {},
        "warnings": [],
    }


def route_after_plan(state: CampaignState) -> Literal["ask", "review", "write"]:
    """Ask when the planner needs input; let the marketer review the plan in the brief chat;
    else write the content."""
    if state.get("status") == "needs_input":
        return "ask"
    return "review" if state.get("review") else "write"


def ask_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Pause with the planner's questions; the marketer's answer joins the follow-ups and the
    planner reads the brief again (nothing is re-typed)."""
    reply = interrupt({"kind": "questions", "questions": state.get("questions", [])})
    text = str(reply.get("text", "")).strip()
    _audit(runtime.context, state["campaign_id"], "human", "answered", text, by=reply.get("by"))
    return {
        "follow_ups": [*state.get("follow_ups", []), {"kind": "answer", "text": text}],
        **({"now": reply["now"]} if reply.get("now") else {}),
    }


def review_node(state: CampaignState, runtime: Runtime[Deps]) -> Command[Literal["plan", "write"]]:
    """Pause until the marketer submits the plan (on to the content and the approval gate) or
    asks for a change (the planner re-plans with the brief and every follow-up)."""
    reply = interrupt({"kind": "review"})
    cid, by = state["campaign_id"], reply.get("by")
    clock = {"now": reply["now"]} if reply.get("now") else {}
    if reply.get("action") == "submit":
        _audit(runtime.context, cid, "human", "submitted_plan", "Submitted for approval.", by=by)
        return Command(update=clock, goto="write")
    text = str(reply.get("text", "")).strip()
    _audit(runtime.context, cid, "human", "requested_change", text, by=by)
    follow_ups = [*state.get("follow_ups", []), {"kind": "change", "text": text}]
    return Command(update={"follow_ups": follow_ups, **clock}, goto="plan")


def write_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Write the variant templates of every step that has none yet or was sent back."""
    deps = runtime.context
    cid = state["campaign_id"]
    plan = Plan.model_validate(state["plan"])
    attempt = state.get("attempt", 0) + 1
    previous = [VariantTemplate.model_validate(v) for v in state.get("variants", [])]
    feedback = state.get("feedback", {})
    out: list[VariantTemplate] = []
    angles: list[str] | None = None
    for step in plan.journey:
        mine = [v for v in previous if v.step_id == step.id]
        needs_rewrite = not mine or any(v.id in feedback for v in mine)
        if not needs_rewrite:
            out.extend(mine)
        else:
            rules = _rules_for(deps, step.channel, plan, step.content_brief)
            step_feedback = {
                v.arm: [Finding.model_validate(f) for f in feedback[v.id]]
                for v in mine
                if v.id in feedback
            }
            written = write_variants(
                deps.llm,
                deps.kit,
                objective=plan.objective,
                step=step,
                rules=rules,
                campaign_id=cid,
                attempt=attempt,
                feedback=step_feedback or None,
                angles=angles,
                journey=plan.journey,
                earlier=out,
            )
            out.extend(written)
            _audit(
                deps,
                cid,
                "content",
                "wrote_variants",
                f"Step {step.id} ({step.channel.value}), attempt {attempt}: "
                f"{len(written)} arms ({', '.join(v.angle for v in written)}) under "
                f"{len(rules)} retrieved brand rules.",
                rules=[r.id for r in rules],
                variants=[v.id for v in written],
            )
        if angles is None:
            angles = [v.angle for v in out if v.step_id == step.id]
    repo.save_variants(deps.db, cid, out)
    return {
        "variants": [v.model_dump(mode="json") for v in out],
        "attempt": attempt,
        "feedback": {},
    }


def check_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Review every active variant; blocking findings go back to the content agent."""
    deps = runtime.context
    cid = state["campaign_id"]
    plan = Plan.model_validate(state["plan"])
    attempt = state["attempt"]
    variants = [VariantTemplate.model_validate(v) for v in state["variants"]]
    feedback: dict[str, list[dict[str, Any]]] = {}
    total = state.get("findings_total", 0)
    checked: list[VariantTemplate] = []
    warnings: list[dict[str, Any]] = []
    for v in variants:
        if v.status != "active":
            checked.append(v)
            continue
        findings = review_variant(deps.kit, v, plan.objective, deps.llm)
        repo.save_findings(deps.db, cid, v.id, attempt, findings)
        total += len(findings)
        blocks = blocking(findings)
        warnings += [
            {**f.model_dump(mode="json"), "variant_id": v.id}
            for f in findings
            if f.severity == Severity.WARN
        ]
        if blocks:
            if attempt >= MAX_CONTENT_ATTEMPTS:
                v = v.model_copy(update={"status": "blocked"})
            feedback[v.id] = [f.model_dump(mode="json") for f in blocks]
        checked.append(v)
    if feedback:
        final = attempt >= MAX_CONTENT_ATTEMPTS
        _audit(
            deps,
            cid,
            "guardrails",
            "blocked_variants" if final else "returned_to_content",
            f"{len(feedback)} variant(s) have blocking findings on attempt {attempt}"
            + (
                "; they are blocked and a human decides."
                if final
                else "; sent back to the content agent."
            ),
            findings={k: [f["rule_id"] for f in fs] for k, fs in feedback.items()},
        )
    else:
        _audit(
            deps,
            cid,
            "guardrails",
            "passed",
            f"All variants pass the blocking checks (attempt {attempt}).",
            variants=[v.id for v in checked],
        )
    repo.save_variants(deps.db, cid, checked)
    return {
        "variants": [v.model_dump(mode="json") for v in checked],
        "feedback": feedback,
        "findings_total": total,
        "warnings": warnings,
    }


def route_after_check(state: CampaignState) -> Literal["write", "gate"]:
    """Back to the content agent while attempts remain, else to the gate."""
    if state.get("feedback") and state["attempt"] < MAX_CONTENT_ATTEMPTS:
        return "write"
    return "gate"


def gate_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Launch within the approval policy, or pause with `interrupt()` until a human decides."""
    deps = runtime.context
    cid = state["campaign_id"]
    plan = Plan.model_validate(state["plan"])
    variants = [VariantTemplate.model_validate(v) for v in state["variants"]]
    active = {v.id for v in variants if v.status == "active"}
    warnings = [
        Finding.model_validate({k: val for k, val in w.items() if k != "variant_id"})
        for w in state.get("warnings", [])
        if w["variant_id"] in active
    ]
    reasons = launch_review(
        deps.kit.approval_policy,
        plan=plan,
        audience_size=state["audience_size"],
        findings=warnings,
    )
    blocked = [v for v in variants if v.status == "blocked"]
    if blocked:
        reasons.append(
            f"{len(blocked)} variant(s) still break blocking rules after "
            f"{MAX_CONTENT_ATTEMPTS} attempts and will not be sent: "
            + ", ".join(v.id for v in blocked)
        )
    if not reasons:
        _audit(deps, cid, "approval", "auto_approved", "Within the brand's approval thresholds.")
        return {"decision": {"approved": True, "by": "policy", "comment": None}}
    aid = launch_approval_id(cid, state.get("round", 1))
    evidence = {
        "plan": plan.model_dump(mode="json"),
        "audience_size": state["audience_size"],
        "holdout_size": state["holdout_size"],
        "variants": [v.model_dump(mode="json") for v in variants],
        "warnings": [f.model_dump(mode="json") for f in warnings],
    }
    repo.request_approval(
        deps.db,
        campaign_id=cid,
        kind="launch",
        subject=f"Launch “{plan.objective.name}” to {state['audience_size']} people "
        f"({state['holdout_size']} held out)",
        reason="; ".join(reasons),
        evidence=evidence,
        requested_by="approval_gate",
        approval_id=aid,
    )
    repo.set_campaign_status(deps.db, cid, CampaignStatus.AWAITING_APPROVAL)
    answer = interrupt({"approval_id": aid, "reasons": reasons})
    approved = bool(answer.get("approved"))
    _audit(
        deps,
        cid,
        "human",
        "approved_launch" if approved else "rejected_launch",
        answer.get("comment") or ("Approved." if approved else "Rejected."),
        approval_id=aid,
        by=answer.get("by"),
    )
    return {"approval_id": aid, "decision": dict(answer)}


def route_after_gate(state: CampaignState) -> Literal["activate", "reject"]:
    """Activate an approved launch, reject otherwise."""
    return "activate" if state.get("decision", {}).get("approved") else "reject"


def activate_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """Write the outbox: one scheduled message per treated person and step (a large one-off
    launch, with `queue_activation`, as jobs of the job queue: see `agents.activation_jobs`)."""
    deps = runtime.context
    cid = state["campaign_id"]
    plan = Plan.model_validate(state["plan"])
    variants = [VariantTemplate.model_validate(v) for v in state["variants"]]
    treated = [c for c, _ in repo.assignments(deps.db, cid, "treated")]
    start = planner.start_time(plan.objective, datetime.fromisoformat(state["now"]))
    split = split_launch(
        deps.db, deps.settings, campaign_id=cid, plan=plan, treated=treated, start=start
    )
    if split is not None:  # the job queue's workers write the outbox; the last makes it active
        return {"status": CampaignStatus.ACTIVATING.value, "activation": {"jobs": split}}
    report = launch_outbox(
        deps.db,
        deps.settings,
        deps.kit,
        campaign_id=cid,
        plan=plan,
        variants=variants,
        treated=treated,
        start=start,
        llm=deps.llm,
    )
    repo.set_campaign_status(deps.db, cid, CampaignStatus.ACTIVE)
    return {"status": "active", "activation": report.as_dict()}


def reject_node(state: CampaignState, runtime: Runtime[Deps]) -> CampaignState:
    """A human rejected the launch: nothing will be sent."""
    deps = runtime.context
    repo.set_campaign_status(deps.db, state["campaign_id"], CampaignStatus.REJECTED)
    return {"status": "rejected"}


def _audit(
    deps: Deps, campaign_id: str, agent: str, action: str, reason: str, **evidence: Any
) -> None:
    record_decision(
        deps.db,
        campaign_id=campaign_id,
        agent=agent,
        action=action,
        reason=reason,
        evidence=evidence,
    )


def _rules_for(deps: Deps, channel: Channel, plan: Plan, brief: str) -> list[Any]:
    if deps.rules is None:
        return []
    query = (
        f"{channel.value} message for a {plan.objective.goal.value.replace('_', ' ')} campaign; "
        f"offer: {plan.objective.offer.kind}; {brief}"
    )
    return deps.rules.retrieve(query, brand_id=deps.kit.id, channel=channel, k=8)
