"""The planner's side of a draft's conversation: each run of the campaign graph ends with one
reply in plain words (questions, the plan summary, the approval it waits for), stored in
`core.drafts` so the pages, the API and the CLI show the same thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.planner import language_words, offer_words
from core import drafts
from core.db import Database
from core.models import CampaignStatus, Plan

if TYPE_CHECKING:
    from graphs.operations import BriefResult


def plan_facts(plan: Plan, audience_size: int, holdout_size: int) -> dict[str, Any]:
    """What a marketer reads to judge a plan, as data for the pages."""
    steps = []
    for st in plan.journey:
        when = f"after {st.delay_hours:g} h" if st.delay_hours else "at launch"
        who = (
            ""
            if st.condition == "always"
            else " to people who have " + st.condition.replace("not_", "not ").replace("_", " ")
        )
        steps.append(f"{st.channel.value.upper()} {when}{who}: {st.content_brief}")
    return {
        "name": plan.objective.name,
        "goal": plan.objective.goal.value.replace("_", " "),
        "channels": [c.value for c in plan.objective.channels],
        "audience": "; ".join(a.name for a in plan.audiences),
        "audience_size": audience_size,
        "holdout_size": holdout_size,
        "holdout_percent": round(plan.holdout_fraction * 100),
        "offer": offer_words(plan.objective.offer),
        "language": language_words(plan.objective.language),
        "steps": steps,
    }


def plan_summary(facts: dict[str, Any], assumptions: list[str]) -> str:
    """The plan in a few plain lines."""
    lines = [
        f"Plan: {facts['name']} — a {facts['goal']} campaign by {' and '.join(facts['channels'])}.",
        f"Audience: {facts['audience']} — {facts['audience_size']} people, "
        f"{facts['holdout_size']} of them held out at random ({facts['holdout_percent']} %) "
        "to measure the lift.",
        f"Offer: {facts['offer']}.",
        f"Language: {facts['language']}.",
        *(f"Step {i}: {s}" for i, s in enumerate(facts["steps"], start=1)),
        *(f"Note: {a}" for a in assumptions),
    ]
    return "\n".join(lines)


_ASK_REVIEW = "Ask for changes in your own words, or submit it for approval."


def record_reply(db: Database, res: BriefResult, *, replanned: bool) -> drafts.DraftMessage:
    """Store the planner's reply to the last run of a draft's graph. `replanned`: the planner
    made a new plan in this run, so its summary is part of the reply."""
    cid = res.campaign_id
    facts = plan_facts(res.plan, res.audience_size, res.holdout_size) if res.plan else {}
    summary = plan_summary(facts, res.assumptions) if facts and replanned else ""
    if res.status == CampaignStatus.NEEDS_INPUT:
        text = "I need a little more before I can plan this:\n" + "\n".join(
            f"• {q}" for q in res.questions
        )
        return drafts.add_message(
            db, cid, role="planner", kind="questions", text=text, data={"questions": res.questions}
        )
    if res.waiting_for == "review":
        return drafts.add_message(
            db,
            cid,
            role="planner",
            kind="plan",
            text=summary + "\n" + _ASK_REVIEW,
            data={"plan": facts, "assumptions": res.assumptions, "next": _ASK_REVIEW},
        )
    if res.waiting_for == "approval":
        text = (
            "Submitted. It waits for an approver because: "
            + "; ".join(r.rstrip(".") for r in res.approval_reasons)
            + "."
        )
    elif res.status == CampaignStatus.ACTIVE:
        scheduled = res.activation.scheduled if res.activation else 0
        text = f"Within the brand's thresholds, so it launched: {scheduled} messages scheduled."
    elif res.status == CampaignStatus.ACTIVATING:
        text = (
            "Within the brand's thresholds, so it launched: activation jobs on the job queue "
            "are writing its messages."
        )
    else:
        text = f"The campaign is {res.status}."
    return drafts.add_message(
        db,
        cid,
        role="planner",
        kind="plan" if summary else "waiting",
        text=(summary + "\n" + text) if summary else text,
        data={
            "plan": facts if summary else {},
            "assumptions": res.assumptions if summary else [],
            "approval_id": res.approval_id,
            "next": text,
        },
    )
