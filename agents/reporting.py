"""The campaign report: what a marketer reads about one campaign — its plan, the outbox, lift
against the holdout, per-arm results, revisions, guardrail findings and LLM use.

A read model over core's repositories plus the optimizer's measurement; it runs no graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from agents.journeys import has_entries_to_come
from agents.optimizer import Measurement, measure
from core import campaigns as repo
from core import messages as outbox
from core.activation_jobs import ActivationJobView, list_jobs
from core.db import Database
from core.lifecycle import complete_campaign, measurement_closes_at
from core.llm_usage import count_calls, usage_by_model
from core.models import CampaignStatus, Plan
from core.outcomes import daily_activity
from core.revisions import RevisionView, list_revisions
from core.settings import LLMPrice
from tools.statistics import proportion_lift


class LLMSpend(BaseModel):
    """A campaign's token use and what it cost, from the recorded usage and a price table."""

    prompt_tokens: int
    """Prompt (input) tokens over every call and attempt."""
    completion_tokens: int
    """Completion (output) tokens over every call and attempt."""
    cost_usd: float | None
    """Cost at `Settings.llm_prices`; None when a model that used tokens has no price."""
    unpriced_models: list[str]
    """Models that used tokens but are not in the price table."""
    by_task: dict[str, dict[str, int]]
    """Per task (parse_brief, draft_plan, write_variants …): calls, prompt and completion
    tokens."""
    fallbacks: list[str]
    """Tasks the offline engine did because the LLM could not (one entry per time)."""


class CampaignReport(BaseModel):
    """Everything a marketer needs about one campaign."""

    campaign: repo.CampaignView
    """The campaign."""
    plan: Plan | None
    """Its current plan (None before planning)."""
    messages: dict[str, int]
    """Outbox messages by status."""
    skipped: dict[str, int]
    """Skipped messages by reason."""
    measurement: Measurement
    """Lift against the holdout and per-arm results."""
    revisions: list[RevisionView]
    """What the optimizer proposed, and where each stands."""
    findings: dict[str, int]
    """Guardrail findings by severity."""
    llm_calls: int
    """LLM calls made for the campaign."""
    llm_spend: LLMSpend | None = None
    """Tokens and their cost, and the steps that fell back to the offline engine."""
    activation_jobs: list[ActivationJobView] = []
    """The jobs a large activation was split into on the job queue, each with its status,
    attempts and last error (empty when the approving process activated it)."""


def llm_spend(db: Database, campaign_id: str, prices: Mapping[str, LLMPrice]) -> LLMSpend:
    """Tokens, cost and fallbacks of a campaign; `prices` are $ per 1M tokens per model."""
    prompt = completion = 0
    cost = 0.0
    unpriced: set[str] = set()
    by_task: dict[str, dict[str, int]] = {}
    fallbacks: list[str] = []
    for model, engine, task, calls, pt, ct in usage_by_model(db, campaign_id):
        if engine == "fallback":
            fallbacks.extend([task] * calls)
            continue
        row = by_task.setdefault(task, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
        row["calls"] += calls
        row["prompt_tokens"] += pt
        row["completion_tokens"] += ct
        prompt, completion = prompt + pt, completion + ct
        if pt or ct:
            price = prices.get(model)
            if price is None:
                unpriced.add(model)
            else:
                cost += (pt * price.input + ct * price.output) / 1e6
    return LLMSpend(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=None if unpriced else round(cost, 6),
        unpriced_models=sorted(unpriced),
        by_task=by_task,
        fallbacks=fallbacks,
    )


def campaign_report(
    db: Database,
    campaign_id: str,
    *,
    prices: Mapping[str, LLMPrice] | None = None,
) -> CampaignReport:
    """The report of one campaign, or `NotFound`. With `prices` (`Settings.llm_prices`), the
    report prices the campaign's token use."""
    camp = repo.get_campaign(db, campaign_id)
    return CampaignReport(
        campaign=camp,
        plan=repo.latest_plan(db, campaign_id),
        messages=outbox.status_counts(db, campaign_id),
        skipped=outbox.skip_counts(db, campaign_id),
        measurement=measure(db, campaign_id),
        revisions=list_revisions(db, campaign_id),
        findings=repo.count_findings(db, campaign_id),
        llm_calls=count_calls(db, campaign_id),
        llm_spend=llm_spend(db, campaign_id, prices) if prices is not None else None,
        activation_jobs=list_jobs(db, campaign_id),
    )


class LiftPoint(BaseModel):
    """The conversion lift against the holdout as it stood at the end of one day."""

    day: str
    """UTC day, `YYYY-MM-DD`."""
    estimate: float
    """Treated minus holdout conversion rate (a fraction; 0.01 is one point)."""
    ci_low: float
    """Lower end of the 95 % interval (-inf when there is none yet)."""
    ci_high: float
    """Upper end of the 95 % interval (inf when there is none yet)."""
    conversions_treated: int
    """Treated people who had converted by then."""
    conversions_holdout: int
    """Held-out people who had converted by then."""


class CampaignSeries(BaseModel):
    """A campaign over time, per UTC day: lift with its interval, and sends per arm."""

    lift: list[LiftPoint]
    """Cumulative conversion lift at the end of every day from the first send to the last
    activity (send or conversion)."""
    sends: dict[str, dict[str, int]]
    """Messages sent per day and arm (`{day: {arm: count}}`), every day from the first send to
    the last activity (quiet days empty)."""
    arms: list[str]
    """Every arm that sent, sorted."""


def campaign_series(db: Database, campaign_id: str) -> CampaignSeries:
    """Lift against the holdout (cumulative, the same estimator as the report) at the end of
    every day from the first send to the last activity, and sends per arm per day. Group sizes
    are today's assignments: a journey that keeps adding people is shown with its current size."""
    act = daily_activity(db, campaign_id)
    arms = sorted({arm for per_arm in act.sends.values() for arm in per_arm})
    if not act.sends:
        return CampaignSeries(lift=[], sends={}, arms=arms)
    last = max([*act.sends, *(d for d, _ in act.first_conversions)])
    days = _calendar(min(act.sends), last)
    sends = {d: act.sends.get(d, {}) for d in days}
    if not act.treated_n or not act.holdout_n:
        return CampaignSeries(lift=[], sends=sends, arms=arms)
    points: list[LiftPoint] = []
    conv = {"treated": 0, "holdout": 0}
    pending = iter(act.first_conversions)
    nxt = next(pending, None)
    for day in days:
        while nxt is not None and nxt[0] <= day:
            conv[nxt[1]] = conv.get(nxt[1], 0) + 1
            nxt = next(pending, None)
        est = proportion_lift(
            conv["treated"],
            act.treated_n,
            conv["holdout"],
            act.holdout_n,
            planned_n=act.treated_n + act.holdout_n,
        )
        points.append(
            LiftPoint(
                day=day,
                estimate=est.estimate,
                ci_low=est.ci_low,
                ci_high=est.ci_high,
                conversions_treated=conv["treated"],
                conversions_holdout=conv["holdout"],
            )
        )
    return CampaignSeries(lift=points, sends=sends, arms=arms)


def _calendar(first: str, last: str) -> list[str]:
    """Every day from `first` to `last` (ISO dates), so quiet days keep their place."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def complete_if_closed(
    db: Database, campaign_id: str, *, window_days: float, as_of: datetime
) -> bool:
    """Complete an active campaign whose measurement window has closed as of `as_of` (nothing
    left to send, `window_days` past its last send), storing its final report. Idempotent:
    True only for the call that completed it."""
    if has_entries_to_come(repo.latest_plan(db, campaign_id), as_of):
        return False  # more runs or entries to come
    closes = measurement_closes_at(db, campaign_id, window_days=window_days)
    if closes is None or as_of < closes:
        return False
    report = campaign_report(db, campaign_id)
    report.campaign = report.campaign.model_copy(update={"status": CampaignStatus.COMPLETED})
    return complete_campaign(
        db,
        campaign_id,
        report=report.model_dump(mode="json"),
        closed_at=closes,
        evidence={
            "as_of": as_of.isoformat(),
            "window_days": window_days,
            "messages": report.messages,
            "treated_n": report.measurement.treated_n,
            "holdout_n": report.measurement.holdout_n,
        },
    )
