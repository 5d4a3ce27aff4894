"""Journeys that run more than once: the runs of recurring campaigns.

A recurring campaign sends nothing at launch: the launch marks the current period as taken,
and the worker starts each later period's run at its start (e.g. every Monday 9:00 in the
brand's timezone; each person then gets the journey at the plan's send hour in their own
timezone). A run draws the audience afresh (new people join; the holdout stays the stable hash of
campaign and person, so nobody switches group) and writes the journey's outbox under the run's
key. The run key is unique per campaign and period in the database, so a restarted or second
worker never sends a period twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agents.activation import ActivationReport, schedule_campaign
from brand_guardrails.kit import BrandKit
from core import campaigns as repo
from core.db import Database
from core.models import Plan, Recurrence, VariantTemplate
from core.runs import begin_run, finish_run
from core.settings import Settings
from tools.audience import draw_audience
from tools.delivery.scheduling import period_start, resolve_tz


def current_period(kit: BrandKit, recurrence: Recurrence, at: datetime) -> tuple[str, datetime]:
    """The period that contains `at` (brand timezone): its key, e.g. `run-20261109T1400Z`,
    and its start."""
    start = period_start(
        at,
        every=recurrence.every,
        weekday=recurrence.weekday,
        hour=recurrence.hour_local,
        tz=resolve_tz(None, kit.default_timezone),
    )
    return f"run-{start:%Y%m%dT%H%MZ}", start


def is_recurring_and_live(plan: Plan | None, as_of: datetime) -> bool:
    """True for a recurring plan whose end (if any) has not passed: it has runs to come."""
    if plan is None or plan.objective.recurrence is None:
        return False
    return plan.objective.end is None or as_of < plan.objective.end


def launch_outbox(
    db: Database,
    settings: Settings,
    kit: BrandKit,
    *,
    campaign_id: str,
    plan: Plan,
    variants: Sequence[VariantTemplate],
    treated: list[str],
    start: datetime,
) -> ActivationReport:
    """Write a launch's outbox: the whole campaign; for a recurring one nothing, but the current
    period is marked as run so that the first run is the next period's."""
    recurrence = plan.objective.recurrence
    if recurrence is None:
        return schedule_campaign(
            db,
            settings,
            kit,
            campaign_id=campaign_id,
            plan=plan,
            variants=variants,
            treated=treated,
            start=start,
        )
    key, _ = current_period(kit, recurrence, start)
    begin_run(db, campaign_id, key, at=start)
    finish_run(
        db,
        campaign_id,
        key,
        at=start,
        scheduled=0,
        reason=f"launched inside period {key}: the first run is the next period's",
    )
    return ActivationReport()


def run_recurring(
    db: Database, settings: Settings, kit: BrandKit, campaign_id: str, *, as_of: datetime
) -> ActivationReport | None:
    """Start the current period's run of an active recurring campaign, unless it already ran:
    draw the audience as of `as_of` and write the journey's outbox from the period's start
    (after an outage, the first step goes out at once). None when there is nothing to run (not
    recurring, ended, or this period's run is done)."""
    plan = repo.latest_plan(db, campaign_id)
    if plan is None or not is_recurring_and_live(plan, as_of):
        return None
    assert plan.objective.recurrence is not None
    key, start = current_period(kit, plan.objective.recurrence, as_of)
    if not begin_run(db, campaign_id, key, at=as_of):
        return None
    drawn = draw_audience(db, campaign_id, plan, as_of=as_of)
    repo.add_assignments(
        db,
        campaign_id,
        [(c, "treated", drawn.audience_of[c]) for c in drawn.treated]
        + [(c, "holdout", drawn.audience_of[c]) for c in drawn.holdout],
    )
    report = schedule_campaign(
        db,
        settings,
        kit,
        campaign_id=campaign_id,
        plan=plan,
        variants=repo.load_variants(db, campaign_id),
        treated=drawn.treated,
        start=start,
        run_key=key,
    )
    finish_run(
        db,
        campaign_id,
        key,
        at=as_of,
        scheduled=report.scheduled,
        reason=(
            f"run {key}: {len(drawn.treated)} treated people, {len(drawn.holdout)} held out, "
            f"{report.scheduled} messages scheduled"
        ),
    )
    return report
