"""The campaign report: what a marketer reads about one campaign — its plan, the outbox, lift
against the holdout, per-arm results, revisions, guardrail findings and LLM use.

A read model over core's repositories plus the optimizer's measurement; it runs no graph.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel

from agents.journeys import has_entries_to_come
from agents.optimizer import Measurement, measure
from core import campaigns as repo
from core import messages as outbox
from core.db import Database
from core.lifecycle import complete_campaign, measurement_closes_at
from core.llm_usage import count_calls
from core.models import CampaignStatus, Plan
from core.outcomes import daily_activity
from core.revisions import RevisionView, list_revisions
from tools.statistics import proportion_lift


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


def campaign_report(db: Database, campaign_id: str) -> CampaignReport:
    """The report of one campaign, or `NotFound`."""
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
