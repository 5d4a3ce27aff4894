"""Event repository: Segment-style events, identity links (stitching) and event sources.

`write_events` is the one place events are stored, for the HTTP API, `autocmo import events`
and the demo's simulator alike. In one transaction it links `anonymousId`s to customers, moves
earlier anonymous events to the person (recorded in the audit trail), stores the events that
are new by `messageId` (a retried call adds nothing), turns new `Order Completed` events
into conversions of the campaigns the person belongs to (each order once), and updates people
from new `identify` traits (contact points, names, locale, timezone, consent; see
`core.customers.apply_identify_traits`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.audit import decision_row
from core.customers import apply_identify_traits
from core.db import (
    Database,
    EventRow,
    IdentityRow,
    SourceRow,
    insert_ignoring_duplicates,
    new_id,
    utcnow,
)
from core.loading import insert_new_returning
from core.models import Event, TrackingPolicy
from core.outcomes import ORDER_COMPLETED, Order, order_value, record_conversions

ANONYMOUS_PREFIX = "anon:"
"""Events of a person known only by `anonymousId` are stored under `anon:<anonymousId>`."""


class StoredEvents(BaseModel):
    """What one `write_events` call stored. Its `events` are the stable hook for code that
    reacts to arriving events (e.g. journey entry triggers)."""

    events: list[Event] = Field(default_factory=list)
    """The events newly stored, in input order, `user_id` resolved to the person when known
    (events of a still-anonymous person keep `user_id` None)."""
    duplicates: int = 0
    """Events skipped because their `messageId` was already stored (or repeated in the call)."""
    stitched: list[tuple[str, str]] = Field(default_factory=list)
    """(anonymousId, userId) links made by this call."""
    conversions: int = 0
    """Conversion outcomes recorded from `Order Completed` events."""


class Source(BaseModel):
    """An event source (a site, an app, a backend)."""

    id: str
    """Source id."""
    name: str
    """Name chosen by whoever created it."""
    created_at: datetime
    """When it was created."""


class DuplicateSource(ValueError):
    """A source with that name exists already."""


def hash_write_key(write_key: str) -> str:
    """The stored form of a write key (SHA-256 hex; keys are random, so no salt is needed)."""
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


def create_source(db: Database, name: str) -> tuple[Source, str]:
    """Create a source; returns it with its write key, which is stored only hashed."""
    name = name.strip()
    if not name:
        raise ValueError("a source needs a name, e.g. `web` or `checkout-backend`")
    write_key = f"wk_{secrets.token_urlsafe(24)}"
    with db.session() as s:
        if s.scalars(select(SourceRow.id).where(SourceRow.name == name)).first() is not None:
            raise DuplicateSource(f"a source named {name!r} exists already; pick another name")
        row = SourceRow(
            id=new_id("src"),
            name=name,
            write_key_hash=hash_write_key(write_key),
            created_at=utcnow(),
        )
        s.add(row)
        s.add(
            decision_row(
                campaign_id=None,
                agent="human",
                action="source_created",
                reason=f"event source {name!r} created",
                evidence={"source_id": row.id},
            )
        )
    return Source(id=row.id, name=row.name, created_at=row.created_at), write_key


def source_for_key(db: Database, write_key: str) -> Source | None:
    """The source a write key belongs to, or None."""
    with db.session() as s:
        row = s.scalars(
            select(SourceRow).where(SourceRow.write_key_hash == hash_write_key(write_key))
        ).first()
        return None if row is None else Source(id=row.id, name=row.name, created_at=row.created_at)


def ingest_events(db: Database, events: Sequence[Event], tracking: TrackingPolicy) -> StoredEvents:
    """`write_events` in a transaction of its own."""
    with db.session() as s:
        return write_events(s, events, tracking)


def write_events(
    session: Session, events: Sequence[Event], tracking: TrackingPolicy
) -> StoredEvents:
    """Store validated events in the caller's transaction (see the module docstring)."""
    conn = session.connection()
    result = StoredEvents()
    if not events:
        return result
    anon_ids = sorted({e.anonymous_id for e in events if e.anonymous_id})
    links: dict[str, str] = {}
    if anon_ids:
        links = dict(
            conn.execute(
                select(IdentityRow.anonymous_id, IdentityRow.user_id).where(
                    IdentityRow.anonymous_id.in_(anon_ids)
                )
            ).all()
        )
    new_links: dict[str, tuple[str, datetime]] = {}
    for e in events:
        if e.anonymous_id and e.user_id and e.anonymous_id not in links:
            links[e.anonymous_id] = e.user_id
            new_links[e.anonymous_id] = (e.user_id, e.timestamp)
    orders: list[Order] = []
    if new_links:
        orders += _stitch(session, new_links)
        result.stitched = [(a, u) for a, (u, _at) in new_links.items()]

    rows, resolved, seen = [], [], set()
    for e in events:
        if e.message_id in seen:
            result.duplicates += 1
            continue
        seen.add(e.message_id)
        person = e.user_id or links.get(e.anonymous_id or "")
        resolved.append(e if person == e.user_id else e.model_copy(update={"user_id": person}))
        rows.append(
            {
                "message_id": e.message_id,
                "type": e.type,
                "user_id": person or f"{ANONYMOUS_PREFIX}{e.anonymous_id}",
                "event": e.event if e.type == "track" else e.name,
                "properties": e.properties,
                "traits": e.traits,
                "timestamp": e.timestamp.astimezone(UTC),
            }
        )
    stored = insert_new_returning(conn, EventRow, rows, "message_id")
    result.duplicates += len(rows) - len(stored)
    result.events = [e for e in resolved if e.message_id in stored]
    orders += [
        Order(
            customer_id=e.user_id,
            at=e.timestamp.astimezone(UTC),
            value=order_value(e.properties),
            event_id=e.message_id,
        )
        for e in result.events
        if e.user_id and e.type == "track" and e.event == ORDER_COMPLETED
    ]
    result.conversions = record_conversions(conn, orders, tracking)
    apply_identify_traits(
        session,
        [
            (e.user_id, e.traits, e.timestamp)
            for e in result.events
            if e.type == "identify" and e.user_id and e.traits
        ],
        source="identify",
    )
    return result


def _stitch(session: Session, new_links: dict[str, tuple[str, datetime]]) -> list[Order]:
    """Link anonymous ids to people and move their earlier events to them; returns the
    earlier anonymous orders, which now count for the person."""
    conn = session.connection()
    conn.execute(
        insert_ignoring_duplicates(conn, IdentityRow),
        [
            {"anonymous_id": a, "user_id": u, "linked_at": at.astimezone(UTC)}
            for a, (u, at) in new_links.items()
        ],
    )
    orders: list[Order] = []
    for anon, (user, _at) in new_links.items():
        key = f"{ANONYMOUS_PREFIX}{anon}"
        earlier = conn.execute(
            select(
                EventRow.type,
                EventRow.event,
                EventRow.properties,
                EventRow.timestamp,
                EventRow.message_id,
            ).where(EventRow.user_id == key)
        ).all()
        if earlier:
            conn.execute(update(EventRow).where(EventRow.user_id == key).values(user_id=user))
        orders += [
            Order(customer_id=user, at=ts, value=order_value(props), event_id=mid)
            for kind, name, props, ts, mid in earlier
            if kind == "track" and name == ORDER_COMPLETED
        ]
        session.add(
            decision_row(
                campaign_id=None,
                agent="ingestion",
                action="identity_stitched",
                reason=(
                    f"anonymousId {anon!r} identified as {user!r}; "
                    f"{len(earlier)} earlier anonymous event(s) now count for them"
                ),
                evidence={"anonymous_id": anon, "user_id": user, "events": len(earlier)},
            )
        )
    return orders


class EventError(BaseModel):
    """Why one event of a call was refused."""

    index: int
    """Position of the event in the call (0 for single calls, the batch index otherwise)."""
    field: str
    """The offending field (`userId`, `properties.revenue`…), or `event` for the whole object."""
    message: str
    """What is wrong, in words a developer can act on."""


def parse_events(
    raw: Sequence[Any], *, received_at: datetime, call: str | None = None
) -> tuple[list[Event], list[EventError]]:
    """Validate raw Segment payloads one by one: the good events, and the bad ones by index.

    `call` is the type implied by the endpoint (`track` for `/v1/track`); a missing
    `timestamp` means now (`received_at`), as Segment does.
    """
    good: list[Event] = []
    errors: list[EventError] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append(
                EventError(index=i, field="event", message="an event must be a JSON object")
            )
            continue
        data = dict(item)
        if call is not None:
            data["type"] = call
        data.setdefault("timestamp", received_at)
        try:
            good.append(Event.model_validate(data))
        except ValidationError as exc:
            for err in exc.errors():
                message = str(err["msg"]).removeprefix("Value error, ")
                # the model's own checks start their message with the field they are about
                field = ".".join(str(x) for x in err["loc"]) or message.split(" ", 1)[0]
                errors.append(EventError(index=i, field=field, message=message))
    return good, errors
