"""Journeys that run more than once: the runs of recurring campaigns, and the entries into
triggered (always-on) ones.

A recurring campaign sends nothing at launch: the launch marks the current period as taken,
and the worker starts each later period's run at its start (e.g. every Monday 9:00 in the
brand's timezone; each person then gets the journey at the plan's send hour in their own
timezone). A run draws the audience afresh (new people join; the holdout stays the stable hash of
campaign and person, so nobody switches group) and writes the journey's outbox under the run's
key. The run key is unique per campaign and period in the database, so a restarted or second
worker never sends a period twice.

A triggered campaign sends nothing at launch either: the launch starts its trigger scan. On
every cycle the worker reads the trigger's events since the last scan (up to `wait_hours`
ago, so that an `unless_event` has had its time), and lets in each person whose event was not
followed by the `unless_event` in time and who has not entered within `reentry_days` (a
segment trigger instead lets in the people whose events since the last scan brought them into
its audience: matching now, not at the last scan; same re-entry rule). Each
entrant gets the holdout draw at entry (`split_holdout`: the stable hash of campaign and
person) and, when treated, the journey from the moment of entry under the entry's key. The
outbox is written before the entries and the cursor are stored, so a crash in between only
makes the next scan find the same entries again, whose messages are already there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from agents.activation import ActivationReport, schedule_campaign
from brand_guardrails.kit import BrandKit
from core import campaigns as repo
from core.db import Database
from core.entries import (
    Entry,
    active_people,
    event_times,
    last_entries,
    record_entries,
    start_trigger,
    track_events,
    trigger_cursor,
)
from core.models import EntryTrigger, Plan, Recurrence, VariantTemplate
from core.runs import begin_run, finish_run
from core.settings import Settings
from tools.audience import contactable, draw_audience, entered_segment, split_holdout
from tools.delivery.scheduling import period_start, resolve_tz
from tools.llm import LLMClient


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


def has_entries_to_come(plan: Plan | None, as_of: datetime) -> bool:
    """True for a recurring or triggered plan whose end (if any) has not passed: more runs or
    entries may come, so it is not complete."""
    if plan is None or (plan.objective.recurrence is None and plan.objective.trigger is None):
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
    llm: LLMClient | None = None,
) -> ActivationReport:
    """Write a launch's outbox: the whole campaign (with `llm`, per-person copy when the plan
    opts in). A triggered one writes nothing but starts its
    trigger scan at `start`; a recurring one marks the current period as run so that the first
    run is the next period's."""
    if plan.objective.trigger is not None:
        start_trigger(db, campaign_id, at=start)
        return ActivationReport()
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
            llm=llm,
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
    if plan is None or plan.objective.recurrence is None or not has_entries_to_come(plan, as_of):
        return None
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
        run_keys=dict.fromkeys(drawn.treated, key),
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


def scan_trigger(
    db: Database, settings: Settings, kit: BrandKit, campaign_id: str, *, as_of: datetime
) -> list[Entry]:
    """Let people into an active triggered campaign from the events since the last scan (see the
    module docstring); returns the entries (empty when there is nothing to do). At most one
    entry per person per scan."""
    plan = repo.latest_plan(db, campaign_id)
    trig = plan.objective.trigger if plan else None
    after = trigger_cursor(db, campaign_id)
    if plan is None or trig is None or after is None:
        return []
    through = as_of - timedelta(hours=trig.wait_hours)
    if plan.objective.end is not None:
        through = min(through, plan.objective.end)
    if through <= after:
        return []
    found = (
        _segment_entrants(db, trig, after=after, through=through)
        if trig.segment is not None
        else _event_entrants(db, trig, after=after, through=through)
    )
    reachable = contactable(db, sorted(found), plan)
    last = last_entries(db, campaign_id, reachable)
    entering: dict[str, tuple[str, datetime]] = {}
    for user, (key, entered_at) in found.items():
        prev = last.get(user)
        if user not in reachable or (
            prev is not None
            and (trig.reentry_days is None or entered_at < prev + timedelta(days=trig.reentry_days))
        ):
            continue
        entering[user] = (key, entered_at)
    treated, holdout = split_holdout(campaign_id, sorted(entering), plan.holdout_fraction)
    if treated:
        schedule_campaign(
            db,
            settings,
            kit,
            campaign_id=campaign_id,
            plan=plan,
            variants=repo.load_variants(db, campaign_id),
            treated=treated,
            start=as_of,
            run_keys={u: entering[u][0] for u in treated},
        )
    entries = [
        Entry(customer_id=u, entry_key=entering[u][0], group=group, entered_at=entering[u][1])
        for group, people in (("treated", treated), ("holdout", holdout))
        for u in people
    ]
    record_entries(
        db, campaign_id, entries, scanned_through=through, audience=f"trigger: {trig.label}"
    )
    return entries


def _entry_key(prefix: str, message_id: str) -> str:
    return prefix + hashlib.sha256(message_id.encode()).hexdigest()[:16]


def _event_entrants(
    db: Database, trig: EntryTrigger, *, after: datetime, through: datetime
) -> dict[str, tuple[str, datetime]]:
    """Person → (entry key, entry time) for the first of their trigger events in
    (`after`, `through`] not followed by the `unless_event` within the wait."""
    wait = timedelta(hours=trig.wait_hours)
    seen = track_events(db, trig.event or "", after=after, through=through)
    users = {u for _, u, _ in seen}
    cancels = (
        event_times(db, trig.unless_event, users, since=min(t for _, _, t in seen))
        if trig.unless_event and seen
        else {}
    )
    found: dict[str, tuple[str, datetime]] = {}
    for message_id, user, at in seen:
        if user in found or any(at <= t <= at + wait for t in cancels.get(user, ())):
            continue  # e.g. they bought within the wait
        found[user] = (_entry_key("e", message_id), at + wait)
    return found


def _segment_entrants(
    db: Database, trig: EntryTrigger, *, after: datetime, through: datetime
) -> dict[str, tuple[str, datetime]]:
    """Person → (entry key, entry time) for the people whose events in (`after`, `through`]
    brought them into the trigger's segment (`entered_segment`); the key comes from their first
    event there, so a scan repeated after a crash finds the same key."""
    assert trig.segment is not None
    active = active_people(db, after=after, through=through)
    wait = timedelta(hours=trig.wait_hours)
    return {
        user: (_entry_key("s", active[user][0]), active[user][1] + wait)
        for user in entered_segment(db, trig.segment, active, before=after, now=through)
    }
