"""Outcome repository: what happened after sends (and to holdout members)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from core.db import (
    AssignmentRow,
    CampaignRow,
    Database,
    MessageRow,
    OutcomeRow,
    VariantRow,
    insert_ignoring_duplicates,
)
from core.models import MessageStatus, Outcome, OutcomeKind, TrackingPolicy


def record_outcomes(db: Database, outcomes: Sequence[Outcome]) -> int:
    """Store outcomes, skipping any already recorded (same campaign, person, message, kind).

    Returns how many were new. Idempotent, so re-ingesting a provider's feed is harmless.
    """
    if not outcomes:
        return 0
    campaign_ids = {o.campaign_id for o in outcomes}
    with db.session() as s:
        seen = {
            (c, p, m, k)
            for c, p, m, k in s.execute(
                select(
                    OutcomeRow.campaign_id,
                    OutcomeRow.customer_id,
                    OutcomeRow.message_id,
                    OutcomeRow.kind,
                ).where(OutcomeRow.campaign_id.in_(campaign_ids))
            )
        }
        rows = []
        for o in outcomes:
            key = (o.campaign_id, o.customer_id, o.message_id, o.kind.value)
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                {
                    "campaign_id": o.campaign_id,
                    "customer_id": o.customer_id,
                    "message_id": o.message_id,
                    "kind": o.kind.value,
                    "value": o.value,
                    "at": o.at,
                }
            )
        for i in range(0, len(rows), 5000):
            s.execute(insert(OutcomeRow), rows[i : i + 5000])
    return len(rows)


def record_message_outcome(db: Database, message_id: str, kind: OutcomeKind, at: datetime) -> bool:
    """Record what happened to one message, found by our id or the provider's.

    Returns False when the message is unknown or the outcome was already recorded.
    """
    with db.session() as s:
        msg = s.scalars(
            select(MessageRow)
            .where(or_(MessageRow.id == message_id, MessageRow.provider_message_id == message_id))
            .limit(1)
        ).first()
        if msg is None:
            return False
        exists = s.scalars(
            select(OutcomeRow.id).where(
                OutcomeRow.campaign_id == msg.campaign_id,
                OutcomeRow.customer_id == msg.customer_id,
                OutcomeRow.message_id == msg.id,
                OutcomeRow.kind == kind.value,
            )
        ).first()
        if exists is not None:
            return False
        s.add(
            OutcomeRow(
                campaign_id=msg.campaign_id,
                customer_id=msg.customer_id,
                message_id=msg.id,
                kind=kind.value,
                at=at,
            )
        )
        return True


class ArmVariant(BaseModel):
    """One variant of an arm in one journey step, as measurement reads it."""

    step_id: str
    """Journey step."""
    channel: str
    """Channel of the step."""
    arm: str
    """Arm label."""
    angle: str
    """The variant's angle."""
    weight: float
    """Allocation weight (0 when the variant is not active)."""


class SentMessage(BaseModel):
    """A sent message, as measurement reads it."""

    id: str
    """Message id (outcomes are attributed to it)."""
    customer_id: str
    """Recipient."""
    step_id: str
    """Journey step."""
    channel: str
    """Channel it went out on."""
    arm: str
    """Arm label of its variant."""


class Observations(BaseModel):
    """Everything stored about a campaign's results, unaggregated, for measurement."""

    groups: dict[str, str]
    """Group (treated or holdout) of every assigned person."""
    converted: dict[str, float] = Field(default_factory=dict)
    """Revenue of every person who converted (summed over conversions)."""
    sent: list[SentMessage] = Field(default_factory=list)
    """Every sent message, in the order they were sent."""
    message_outcomes: list[tuple[str, str, float]] = Field(default_factory=list)
    """(message id, outcome kind, value) of outcomes attributed to a message."""
    variants: list[ArmVariant] = Field(default_factory=list)
    """The campaign's variants in storage order."""


def _groups(s: Session, campaign_id: str) -> dict[str, str]:
    """Each assigned person's group (`treated` or `holdout`) in a campaign."""
    q = select(AssignmentRow.customer_id, AssignmentRow.group).where(
        AssignmentRow.campaign_id == campaign_id
    )
    return {c: g for c, g in s.execute(q)}


def observations(db: Database, campaign_id: str) -> Observations:
    """Read a campaign's assignments, outcomes, sent messages and variants in one transaction."""
    with db.session() as s:
        groups = _groups(s, campaign_id)
        converted: dict[str, float] = {}
        for cid, value in s.execute(
            select(OutcomeRow.customer_id, OutcomeRow.value).where(
                OutcomeRow.campaign_id == campaign_id, OutcomeRow.kind == OutcomeKind.CONVERTED
            )
        ):
            converted[cid] = converted.get(cid, 0.0) + value
        sent = [
            SentMessage(id=mid, customer_id=cid, step_id=step, channel=channel, arm=arm)
            for mid, cid, step, channel, arm in s.execute(
                select(
                    MessageRow.id,
                    MessageRow.customer_id,
                    MessageRow.step_id,
                    MessageRow.channel,
                    MessageRow.arm,
                )
                .where(
                    MessageRow.campaign_id == campaign_id, MessageRow.status == MessageStatus.SENT
                )
                .order_by(MessageRow.sent_at, MessageRow.id)
            )
        ]
        outcomes = [
            (mid, kind, value)
            for mid, kind, value in s.execute(
                select(OutcomeRow.message_id, OutcomeRow.kind, OutcomeRow.value).where(
                    OutcomeRow.campaign_id == campaign_id, OutcomeRow.message_id.is_not(None)
                )
            )
            if mid is not None
        ]
        variants = [
            ArmVariant(
                step_id=v.step_id,
                channel=v.channel,
                arm=v.arm,
                angle=v.angle,
                weight=v.weight if v.status == "active" else 0.0,
            )
            for v in s.scalars(select(VariantRow).where(VariantRow.campaign_id == campaign_id))
        ]
    return Observations(
        groups=groups, converted=converted, sent=sent, message_outcomes=outcomes, variants=variants
    )


ORDER_COMPLETED = "Order Completed"
"""The Segment e-commerce event that is a conversion."""


class Order(BaseModel):
    """A purchase, as conversions are derived from it."""

    customer_id: str
    """Who bought."""
    at: datetime
    """When (UTC)."""
    value: float
    """Revenue."""
    event_id: str
    """The `Order Completed` event's `messageId`: each order counts once per campaign."""


def order_value(properties: dict[str, Any]) -> float:
    """Revenue of an `Order Completed` event: `revenue`, else `total`, else the sum of its
    `products` (price × quantity), else 0."""
    for key in ("revenue", "total"):
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    total = 0.0
    for p in properties.get("products") or []:
        price, qty = p.get("price"), p.get("quantity", 1)
        if isinstance(price, int | float) and isinstance(qty, int | float):
            total += float(price) * float(qty)
    return total


def record_conversions(conn: Connection, orders: Sequence[Order], tracking: TrackingPolicy) -> int:
    """Conversions from purchases, in the caller's transaction; returns how many were new.

    A purchase counts for every campaign the person is a member of, treated or holdout, when it
    falls inside the campaign's measurement window (from its first scheduled send). It is
    attributed to the last message the person was sent within the attribution window, in that
    campaign's row only (other campaigns get it unattributed: lift is read on membership).
    """
    if not orders:
        return 0
    people = sorted({o.customer_id for o in orders})
    members: dict[str, list[str]] = {}
    for cid, person in conn.execute(
        select(AssignmentRow.campaign_id, AssignmentRow.customer_id).where(
            AssignmentRow.customer_id.in_(people)
        )
    ):
        members.setdefault(person, []).append(cid)
    if not members:
        return 0
    campaigns = sorted({c for cs in members.values() for c in cs})
    starts: dict[str, datetime] = dict(
        conn.execute(
            select(CampaignRow.id, CampaignRow.created_at).where(CampaignRow.id.in_(campaigns))
        ).all()
    )
    starts.update(
        conn.execute(
            select(MessageRow.campaign_id, func.min(MessageRow.scheduled_at))
            .where(MessageRow.campaign_id.in_(campaigns))
            .group_by(MessageRow.campaign_id)
        ).all()
    )
    sends: dict[str, list[tuple[datetime, str, str]]] = {}
    for person, sent_at, mid, cid in conn.execute(
        select(
            MessageRow.customer_id, MessageRow.sent_at, MessageRow.id, MessageRow.campaign_id
        ).where(
            MessageRow.customer_id.in_(list(members)),
            MessageRow.status == MessageStatus.SENT.value,
        )
    ):
        if sent_at is not None:
            sends.setdefault(person, []).append((sent_at, mid, cid))
    attribution = timedelta(days=tracking.attribution_window_days)
    measurement = timedelta(days=tracking.measurement_window_days)
    rows = []
    for o in orders:
        got = [s for s in sends.get(o.customer_id, []) if o.at - attribution <= s[0] <= o.at]
        last = max(got, default=None)
        for cid in members.get(o.customer_id, []):
            start = starts[cid]
            if not start <= o.at <= start + measurement:
                continue
            rows.append(
                {
                    "campaign_id": cid,
                    "customer_id": o.customer_id,
                    "message_id": last[1] if last and last[2] == cid else None,
                    "kind": OutcomeKind.CONVERTED.value,
                    "value": o.value,
                    "at": o.at,
                    "event_id": o.event_id,
                }
            )
    if not rows:
        return 0
    stored = conn.execute(
        insert_ignoring_duplicates(conn, OutcomeRow).returning(OutcomeRow.id), rows
    ).all()
    return len(stored)


class DailyActivity(BaseModel):
    """A campaign's sends and first conversions per UTC day, for charts over time."""

    treated_n: int
    """People assigned to the treated group."""
    holdout_n: int
    """People held out."""
    first_conversions: list[tuple[str, str]] = Field(default_factory=list)
    """(day `YYYY-MM-DD`, group) of each assigned person's first conversion."""
    sends: dict[str, dict[str, int]] = Field(default_factory=dict)
    """Messages sent per day and arm: `{day: {arm: count}}`, days in order."""


def daily_activity(db: Database, campaign_id: str) -> DailyActivity:
    """Sends per day and arm, and each person's first conversion day, in one transaction."""
    with db.session() as s:
        groups = _groups(s, campaign_id)
        first = s.execute(
            select(OutcomeRow.customer_id, func.min(OutcomeRow.at))
            .where(OutcomeRow.campaign_id == campaign_id, OutcomeRow.kind == OutcomeKind.CONVERTED)
            .group_by(OutcomeRow.customer_id)
        ).all()
        sent_at = s.execute(
            select(MessageRow.sent_at, MessageRow.arm)
            .where(
                MessageRow.campaign_id == campaign_id,
                MessageRow.status == MessageStatus.SENT,
                MessageRow.sent_at.is_not(None),
            )
            .order_by(MessageRow.sent_at)
        ).all()
    sends: dict[str, dict[str, int]] = {}
    for at, arm in sent_at:
        if at is None:  # excluded by the query; for the type checker
            continue
        day = sends.setdefault(at.date().isoformat(), {})
        day[arm] = day.get(arm, 0) + 1
    values = list(groups.values())
    return DailyActivity(
        treated_n=values.count("treated"),
        holdout_n=values.count("holdout"),
        first_conversions=sorted(
            (at.date().isoformat(), groups[cid]) for cid, at in first if cid in groups
        ),
        sends=sends,
    )
