"""Outcome repository: what happened after sends (and to holdout members)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import insert, or_, select

from core.db import AssignmentRow, Database, MessageRow, OutcomeRow, VariantRow
from core.models import MessageStatus, Outcome, OutcomeKind


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


def observations(db: Database, campaign_id: str) -> Observations:
    """Read a campaign's assignments, outcomes, sent messages and variants in one transaction."""
    with db.session() as s:
        groups = dict(
            s.execute(
                select(AssignmentRow.customer_id, AssignmentRow.group).where(
                    AssignmentRow.campaign_id == campaign_id
                )
            ).all()
        )
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
