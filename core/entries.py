"""Entry repository: people entering always-on (triggered) journeys, and the trigger scan's
cursor. An entry is keyed by campaign, person and the event that let them in, so scanning the
same events again enters nobody twice."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, insert, select

from core.audit import decision_row
from core.db import AssignmentRow, Database, EventRow, JourneyEntryRow, TriggerCursorRow


class Entry(BaseModel):
    """A person entering a triggered journey."""

    customer_id: str
    """Who."""
    entry_key: str
    """What let them in (derived from the triggering event's id); part of their messages' keys."""
    group: str
    """`treated` or `holdout` (the holdout draw at entry)."""
    entered_at: datetime
    """When they qualified (UTC)."""


def start_trigger(db: Database, campaign_id: str, *, at: datetime) -> None:
    """Start a campaign's trigger scan at `at` (its launch): only later events let people in.
    Starting it again changes nothing."""
    with db.session() as s:
        if s.get(TriggerCursorRow, campaign_id) is None:
            s.add(TriggerCursorRow(campaign_id=campaign_id, scanned_through=at))


def trigger_cursor(db: Database, campaign_id: str) -> datetime | None:
    """Events up to this time have been scanned for the campaign's trigger; None before launch."""
    with db.session() as s:
        row = s.get(TriggerCursorRow, campaign_id)
        return None if row is None else row.scanned_through


def track_events(
    db: Database, event: str, *, after: datetime, through: datetime
) -> list[tuple[str, str, datetime]]:
    """(message id, user id, timestamp) of the `track` events named `event` in
    (`after`, `through`], oldest first."""
    with db.session() as s:
        return [
            (mid, uid, ts)
            for mid, uid, ts in s.execute(
                select(EventRow.message_id, EventRow.user_id, EventRow.timestamp)
                .where(
                    EventRow.type == "track",
                    EventRow.event == event,
                    EventRow.timestamp > after,
                    EventRow.timestamp <= through,
                )
                .order_by(EventRow.timestamp, EventRow.message_id)
            )
        ]


def active_people(
    db: Database, *, after: datetime, through: datetime
) -> dict[str, tuple[str, datetime]]:
    """Per known person with events in (`after`, `through`]: (`messageId` of their first event
    there, time of their last), the candidates of a segment trigger."""
    out: dict[str, tuple[str, datetime]] = {}
    with db.session() as s:
        for mid, uid, ts in s.execute(
            select(EventRow.message_id, EventRow.user_id, EventRow.timestamp)
            .where(
                EventRow.timestamp > after,
                EventRow.timestamp <= through,
                EventRow.user_id.not_like("anon:%"),
            )
            .order_by(EventRow.timestamp, EventRow.message_id)
        ):
            out[uid] = (out[uid][0] if uid in out else mid, ts)
    return out


def event_times(
    db: Database, event: str, user_ids: Collection[str], *, since: datetime
) -> dict[str, list[datetime]]:
    """Per user, when they sent `track` events named `event` at or after `since`."""
    out: dict[str, list[datetime]] = {}
    if not user_ids:
        return out
    with db.session() as s:
        for uid, ts in s.execute(
            select(EventRow.user_id, EventRow.timestamp).where(
                EventRow.type == "track",
                EventRow.event == event,
                EventRow.user_id.in_(sorted(user_ids)),
                EventRow.timestamp >= since,
            )
        ):
            out.setdefault(uid, []).append(ts)
    return out


def last_entries(db: Database, campaign_id: str, user_ids: Collection[str]) -> dict[str, datetime]:
    """When each of these people last entered the campaign's journey (absent: never)."""
    if not user_ids:
        return {}
    with db.session() as s:
        return {
            uid: ts
            for uid, ts in s.execute(
                select(JourneyEntryRow.customer_id, func.max(JourneyEntryRow.entered_at))
                .where(
                    JourneyEntryRow.campaign_id == campaign_id,
                    JourneyEntryRow.customer_id.in_(sorted(user_ids)),
                )
                .group_by(JourneyEntryRow.customer_id)
            )
        }


def record_entries(
    db: Database,
    campaign_id: str,
    entries: Sequence[Entry],
    *,
    scanned_through: datetime,
    audience: str,
) -> None:
    """Store a scan's entries, assign new members to the campaign (their group is the entry's),
    advance the cursor and write the audit record, in one transaction."""
    with db.session() as s:
        known = set(
            s.scalars(
                select(AssignmentRow.customer_id).where(
                    AssignmentRow.campaign_id == campaign_id,
                    AssignmentRow.customer_id.in_(sorted({e.customer_id for e in entries})),
                )
            )
        )
        if entries:
            s.execute(
                insert(JourneyEntryRow),
                [{"campaign_id": campaign_id, **e.model_dump()} for e in entries],
            )
        fresh = [e for e in entries if e.customer_id not in known]
        if fresh:
            s.execute(
                insert(AssignmentRow),
                [
                    {
                        "campaign_id": campaign_id,
                        "customer_id": e.customer_id,
                        "group": e.group,
                        "audience": audience,
                    }
                    for e in fresh
                ],
            )
        cursor = s.get(TriggerCursorRow, campaign_id, with_for_update=True)
        if cursor is None:
            raise LookupError(f"campaign {campaign_id} has no trigger scan to advance")
        cursor.scanned_through = max(cursor.scanned_through, scanned_through)
        if entries:
            treated = sum(e.group == "treated" for e in entries)
            s.add(
                decision_row(
                    campaign_id=campaign_id,
                    agent="worker",
                    action="journey_entries",
                    reason=(
                        f"{len(entries)} people entered on the trigger ({treated} treated, "
                        f"{len(entries) - treated} held out); events scanned through "
                        f"{scanned_through.isoformat()}"
                    ),
                    evidence={"entries": [e.model_dump(mode="json") for e in entries[:50]]},
                )
            )
