"""The planner agent: brief → objective (or clarifying questions) → audiences, holdout, journey.

Two engines satisfy one contract. With an LLM configured, the brief is parsed and the plan drafted
through structured outputs; otherwise the offline engine applies deterministic recipes per goal.
Either way the result is validated here, so a plan that reaches the graph is always usable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from agents.prompts import render_prompt
from brand_guardrails.injection import score as injection_score
from core.models import (
    Audience,
    AudienceFilter,
    BriefParse,
    Channel,
    EntryTrigger,
    Goal,
    JourneyStep,
    Objective,
    Offer,
    Plan,
    Recurrence,
)
from tools.llm import LLMClient, delimit

DEFAULT_HOLDOUT = 0.10
"""Share of each audience held out at random (no message) unless the brief says otherwise."""

_GOAL_WORDS: list[tuple[Goal, tuple[str, ...]]] = [
    (Goal.CART_RECOVERY, ("abandon", "cart", "basket", "checkout")),
    (
        Goal.WINBACK,
        (
            "win back",
            "winback",
            "win-back",
            "lapsed",
            "haven't ordered",
            "inactive",
            "haven't bought",
            "not ordered",
            "come back",
            "re-engage",
            "reengage",
        ),
    ),
    (Goal.CROSS_SELL, ("cross-sell", "cross sell", "upsell", "complementary", "also buy")),
    (Goal.PRODUCT_LAUNCH, ("launch", "new arrival", "new collection", "just dropped", "introduce")),
    (Goal.RETENTION, ("retain", "retention", "loyal", "at risk", "at-risk", "churn")),
    (
        Goal.PROMOTION,
        (
            "sale",
            "promo",
            "promotion",
            "discount",
            "% off",
            "black friday",
            "cyber monday",
            "holiday",
            "weekend offer",
        ),
    ),
]
_CHANNEL_WORDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("email", "e-mail", "newsletter", "inbox"),
    Channel.SMS: ("sms", "text message", "texts", "text them"),
    Channel.PUSH: ("push", "app notification"),
}
_HOLDOUT_RE = re.compile(
    r"(?:holdout|hold-out|control group)\D{0,12}?(\d{1,2}(?:\.\d+)?)\s*%"
    r"|(\d{1,2}(?:\.\d+)?)\s*%\s*(?:holdout|hold-out|control)",
    re.I,
)
_PERCENT_RE = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*%\s*(?:off|discount)?", re.I)
_CODE_RE = re.compile(r"\bcode\s*:?\s*([A-Z0-9]{3,20})\b")
_RECENCY_RE = re.compile(
    r"(?:in|for|over|past|last)\s+(?:the\s+)?(?:last\s+|past\s+)?(\d{1,3})\s*(day|week|month)s?",
    re.I,
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RECURRENCE_RE = re.compile(
    r"\bevery\s+(day|" + "|".join(_WEEKDAYS) + r")s?\b"
    r"(?:\s+(?:at\s+)?(\d{1,2})(?::00)?\s*(am|pm)?\b)?",
    re.I,
)


_TRIGGER_RE = re.compile(
    r"\b(whenever|every time|as soon as|always[- ]on|who (?:leave|abandon|left)|"
    r"when (?:someone|people|a customer|customers|they) (?:leave|abandon|add))",
    re.I,
)
_WITHIN_HOURS_RE = re.compile(r"\b(?:within|after)\s+(\d{1,3})\s*(hour|day)s?", re.I)


def _trigger(text: str, goal: Goal | None) -> EntryTrigger | None:
    """An always-on cart-abandonment trigger for briefs like "remind people who leave something
    in their cart" (the offline engine has an event recipe for that goal only)."""
    if goal != Goal.CART_RECOVERY or not _TRIGGER_RE.search(text):
        return None
    wait = 4.0
    m = _WITHIN_HOURS_RE.search(text)
    if m:
        wait = float(m.group(1)) * (24 if m.group(2).lower() == "day" else 1)
    return EntryTrigger(
        event="Product Added", unless_event="Order Completed", wait_hours=min(wait, 720)
    )


def _recurrence(text: str) -> Recurrence | None:
    """`every Monday 9:00`, `every Friday at 5pm`, `every day`: a recurrence, or None."""
    m = _RECURRENCE_RE.search(text)
    if m is None:
        return None
    day, hour, half = m.group(1).lower(), m.group(2), (m.group(3) or "").lower()
    h = int(hour) if hour else 9
    if half == "pm" and h < 12:
        h += 12
    elif half == "am" and h == 12:
        h = 0
    if h > 23:
        return None
    if day == "day":
        return Recurrence(every="day", hour_local=h)
    return Recurrence(every="week", weekday=_WEEKDAYS.index(day), hour_local=h)


class PlanDraft(BaseModel):
    """What the LLM drafts for a plan; holdout and validation are the system's."""

    audiences: list[Audience] = Field(min_length=1)
    """Who to target."""
    journey: list[JourneyStep] = Field(min_length=1, max_length=4)
    """Steps in send order."""
    send_hour_local: int = Field(default=10, ge=0, le=23)
    """Preferred send hour in each person's own timezone."""
    rationale: str
    """Why this plan."""


class PlanError(ValueError):
    """The plan cannot be built from this objective; the message says what to change."""


# --- brief → objective --------------------------------------------------------------------


def parse_brief(
    llm: LLMClient,
    brief: str,
    *,
    categories: Sequence[str],
    campaign_id: str | None = None,
) -> BriefParse:
    """Read a marketer's brief: an objective, or the clarifying questions that block one."""
    text = brief.strip()
    if len(text.split()) < 3:
        return BriefParse(
            questions=[
                "Tell me a little more: what should this campaign achieve (e.g. win back lapsed "
                "customers, recover abandoned carts, launch a product), for whom, and on which "
                "channels?"
            ]
        )
    injection = injection_score(text)
    if injection.hit:
        return BriefParse(
            questions=[
                "Parts of this brief read like instructions to the AI rather than a campaign "
                f"brief ({'; '.join(injection.reasons[:2])}). Please restate the goal, the "
                "audience and the channels in your own words."
            ]
        )
    system = render_prompt(
        "parse_brief.j2", categories=list(categories), goals=[g.value for g in Goal]
    )
    parsed = llm.generate(
        "parse_brief",
        system=system,
        user=delimit("brief", text),
        schema=BriefParse,
        offline=lambda: _offline_parse(text, categories),
        campaign_id=campaign_id,
    )
    return _normalize_parse(parsed)


def _normalize_parse(parsed: BriefParse) -> BriefParse:
    if parsed.objective is None and not parsed.questions:
        return BriefParse(questions=["What is the goal of this campaign?"])
    return parsed


def _offline_parse(text: str, categories: Sequence[str]) -> BriefParse:
    low = text.lower()
    assumptions: list[str] = []
    questions: list[str] = []

    goal = next((g for g, words in _GOAL_WORDS if any(w in low for w in words)), None)
    if goal is None:
        questions.append(
            "What is the goal: win back lapsed customers, recover abandoned carts, cross-sell "
            "to recent buyers, launch a product, run a promotion, or retain at-risk customers?"
        )

    channels = [c for c, words in _CHANNEL_WORDS.items() if any(w in low for w in words)]
    if not channels:
        channels = [Channel.EMAIL]
        assumptions.append("No channel named: using e-mail.")

    holdout_match = _HOLDOUT_RE.search(text)
    rest = text
    hints: list[str] = []
    if holdout_match:
        value = float(holdout_match.group(1) or holdout_match.group(2))
        hints.append(f"holdout:{value / 100:.3f}")
        rest = text[: holdout_match.start()] + text[holdout_match.end() :]

    offer = Offer()
    if "free shipping" in low:
        offer = Offer(kind="free_shipping")
    pct = _PERCENT_RE.search(rest)
    if pct:
        offer = Offer(kind="percent_off", percent=float(pct.group(1)))
    code = _CODE_RE.search(rest)
    if code and offer.kind != "none":
        offer = offer.model_copy(update={"code": code.group(1)})

    for cat in categories:
        if re.search(rf"\b{re.escape(cat.lower())}\b", low):
            hints.append(f"category:{cat}")
    recency = _RECENCY_RE.search(low)
    if recency and goal in (Goal.WINBACK, Goal.RETENTION):
        n, unit = int(recency.group(1)), recency.group(2)
        days = n * {"day": 1, "week": 7, "month": 30}[unit]
        hints.append(f"recency_days_gte:{days}")

    if questions:
        return BriefParse(questions=questions, assumptions=assumptions)
    assert goal is not None
    cat_hint = next((h.split(":", 1)[1] for h in hints if h.startswith("category:")), None)
    name = goal.value.replace("_", " ").title() + (f" — {cat_hint}" if cat_hint else "")
    return BriefParse(
        objective=Objective(
            name=name,
            goal=goal,
            kpi="conversion_rate",
            audience_hints=hints,
            channels=channels,
            offer=offer,
            constraints=[],
            recurrence=_recurrence(text),
            trigger=_trigger(text, goal),
        ),
        assumptions=assumptions,
    )


# --- objective → plan ---------------------------------------------------------------------


def draft_plan(
    llm: LLMClient,
    objective: Objective,
    *,
    categories: Sequence[str],
    campaign_id: str | None = None,
) -> Plan:
    """Turn an objective into audiences, a holdout and a journey, and validate the result."""
    system = render_prompt(
        "draft_plan.j2",
        categories=list(categories),
        channels=[c.value for c in objective.channels],
    )
    draft = llm.generate(
        "draft_plan",
        system=system,
        user=delimit("objective", objective.model_dump(mode="json")),
        schema=PlanDraft,
        offline=lambda: _offline_plan(objective),
        campaign_id=campaign_id,
    )
    return _validate_plan(objective, draft)


def _hint(objective: Objective, key: str) -> str | None:
    for h in objective.audience_hints:
        if h.startswith(key + ":"):
            return h.split(":", 1)[1]
    return None


def _offline_plan(objective: Objective) -> PlanDraft:
    cat = _hint(objective, "category")
    cat_filter = [AudienceFilter(feature="favorite_category", op="eq", value=cat)] if cat else []
    recency = float(_hint(objective, "recency_days_gte") or 90)
    first = objective.channels[0]
    follow = objective.channels[1] if len(objective.channels) > 1 else first

    recipes: dict[Goal, tuple[list[AudienceFilter], str, float, str, str]] = {
        Goal.WINBACK: (
            [
                AudienceFilter(feature="recency_days", op="gte", value=recency),
                AudienceFilter(feature="frequency", op="gte", value=1),
            ],
            f"Lapsed buyers (no order in {int(recency)} days)",
            72,
            "Remind them what they loved and give them a reason to come back",
            "Friendly last reminder of the offer before it ends",
        ),
        Goal.CART_RECOVERY: (
            [AudienceFilter(feature="cart_abandoned", op="eq", value=True)],
            "Abandoned a cart in the last 7 days",
            24,
            "Bring them back to the item left in their cart",
            "Short reminder that the cart item is waiting",
        ),
        Goal.CROSS_SELL: (
            [
                AudienceFilter(feature="frequency", op="gte", value=1),
                AudienceFilter(feature="recency_days", op="lte", value=60),
            ],
            "Recent buyers (ordered in the last 60 days)",
            96,
            "Suggest a product that goes with what they bought",
            "Follow up with a second suggestion",
        ),
        Goal.PRODUCT_LAUNCH: (
            [AudienceFilter(feature="views_30d", op="gte", value=1)],
            "Browsed in the last 30 days",
            72,
            "Introduce the new arrivals in their favourite category",
            "Remind them the new arrivals are in",
        ),
        Goal.PROMOTION: (
            [
                AudienceFilter(
                    feature="lifecycle_stage", op="in", value=["new", "active", "at_risk"]
                )
            ],
            "New, active and at-risk customers",
            48,
            "Announce the offer clearly, with what it applies to and when it ends",
            "Last-chance reminder before the offer ends",
        ),
        Goal.RETENTION: (
            [AudienceFilter(feature="lifecycle_stage", op="eq", value="at_risk")],
            "At-risk customers (last order 60–120 days ago)",
            72,
            "Thank them and show what is new for them",
            "A gentle second nudge",
        ),
    }
    filters, name, gap, brief1, brief2 = recipes[objective.goal]
    audience = Audience(
        name=name + (f", favourite category {cat}" if cat else ""),
        description=f"Offline recipe for {objective.goal.value}.",
        filters=filters + cat_filter,
    )
    journey = [
        JourneyStep(
            id="s1", channel=first, delay_hours=0, condition="always", content_brief=brief1
        ),
        JourneyStep(
            id="s2",
            channel=follow,
            delay_hours=gap,
            condition="not_converted",
            content_brief=brief2,
        ),
    ]
    return PlanDraft(
        audiences=[audience],
        journey=journey,
        send_hour_local=10,
        rationale=(
            f"Recipe for {objective.goal.value}: one audience, a first message on "
            f"{first.value} and a follow-up on {follow.value} after {int(gap)} h only for people "
            "who have not converted; a randomized holdout measures the lift."
        ),
    )


def _validate_plan(objective: Objective, draft: PlanDraft) -> Plan:
    if objective.trigger is not None and objective.recurrence is not None:
        raise PlanError(
            "A campaign either runs on a schedule (every Monday…) or lets people in as events "
            "arrive (whenever someone…), not both: choose one."
        )
    allowed = set(objective.channels)
    steps = [s for s in draft.journey if s.channel in allowed]
    if not steps:
        raise PlanError(
            "The drafted journey uses none of the channels the brief allows "
            f"({', '.join(c.value for c in objective.channels)}); revise the brief's channels."
        )
    seen: set[str] = set()
    fixed: list[JourneyStep] = []
    for i, step in enumerate(sorted(steps, key=lambda s: s.delay_hours), start=1):
        sid = step.id if step.id and step.id not in seen else f"s{i}"
        seen.add(sid)
        fixed.append(step.model_copy(update={"id": sid}))
    holdout = _hint(objective, "holdout")
    fraction = DEFAULT_HOLDOUT if holdout is None else min(max(float(holdout), 0.05), 0.5)
    return Plan(
        objective=objective,
        audiences=draft.audiences,
        holdout_fraction=fraction,
        journey=fixed,
        send_hour_local=(
            objective.recurrence.hour_local if objective.recurrence else draft.send_hour_local
        ),
        rationale=draft.rationale,
    )


def start_time(objective: Objective, now: datetime) -> datetime:
    """When the journey starts: the objective's start if it is in the future, else now."""
    return objective.start if objective.start and objective.start > now else now
