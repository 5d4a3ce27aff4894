"""Outbox repository: the messages activation writes, re-allocates and reports on.

The dispatcher claims and sends them in `tools/delivery/dispatch.py` (lease-based claiming on a raw
connection, tuned for concurrent workers); everything else reaches messages through here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select, update

from core.db import Database, FindingRow, MessageRow, VariantRow
from core.loading import bulk_insert
from core.models import MessageStatus

_CHUNK = 5000


def idempotency_keys(
    db: Database, campaign_id: str, *, customer_ids: Collection[str] | None = None
) -> set[str]:
    """The idempotency keys of a campaign's messages already in the outbox (only those of
    `customer_ids` when given: one chunk of a large audience at a time)."""
    q = select(MessageRow.idempotency_key).where(MessageRow.campaign_id == campaign_id)
    with db.session() as s:
        if customer_ids is None:
            return set(s.scalars(q))
        ids = list(customer_ids)
        found: set[str] = set()
        for i in range(0, len(ids), _CHUNK):
            found.update(s.scalars(q.where(MessageRow.customer_id.in_(ids[i : i + _CHUNK]))))
        return found


def write_outbox(
    db: Database, messages: Sequence[dict[str, Any]], findings: Sequence[dict[str, Any]]
) -> None:
    """Insert message rows and the findings about them, in one transaction (each list's rows
    all have the same keys; written through the driver's executemany)."""
    if not messages and not findings:
        return
    with db.session() as s:
        conn = s.connection()
        bulk_insert(conn, MessageRow, messages)
        bulk_insert(conn, FindingRow, findings)


def scheduled_messages(
    db: Database, campaign_id: str, step_ids: Collection[str]
) -> list[MessageRow]:
    """A campaign's messages still waiting to be sent in these journey steps, of people it has
    not contacted in any step yet (detached rows).

    Anyone with a message past `scheduled` (sending, sent, failed) keeps their arm for the
    whole journey, so their follow-ups are left out; `skipped` rows reached nobody.
    """
    with db.session() as s:
        contacted = (
            select(MessageRow.customer_id)
            .where(
                MessageRow.campaign_id == campaign_id,
                MessageRow.status.not_in((MessageStatus.SCHEDULED, MessageStatus.SKIPPED)),
            )
            .distinct()
        )
        return list(
            s.scalars(
                select(MessageRow).where(
                    MessageRow.campaign_id == campaign_id,
                    MessageRow.status == MessageStatus.SCHEDULED,
                    MessageRow.step_id.in_(step_ids),
                    MessageRow.customer_id.not_in(contacted),
                )
            )
        )


def rewrite_scheduled(db: Database, changes: Sequence[dict[str, Any]]) -> None:
    """Apply new content (`id` plus the columns to set) to messages still scheduled.

    A message a dispatcher claimed meanwhile is left alone.
    """
    with db.session() as s:
        for ch in changes:
            s.execute(
                update(MessageRow)
                .where(MessageRow.id == ch["id"], MessageRow.status == MessageStatus.SCHEDULED)
                .values(**{k: v for k, v in ch.items() if k != "id"})
            )


def status_counts(db: Database, campaign_id: str) -> dict[str, int]:
    """How many of a campaign's messages are in each status."""
    with db.session() as s:
        return {
            st: int(n)
            for st, n in s.execute(
                select(MessageRow.status, func.count())
                .where(MessageRow.campaign_id == campaign_id)
                .group_by(MessageRow.status)
            )
        }


def skip_counts(db: Database, campaign_id: str) -> dict[str, int]:
    """How many of a campaign's messages were skipped, by reason."""
    with db.session() as s:
        return {
            r or "unknown": int(n)
            for r, n in s.execute(
                select(MessageRow.skip_reason, func.count())
                .where(
                    MessageRow.campaign_id == campaign_id,
                    MessageRow.status == MessageStatus.SKIPPED,
                )
                .group_by(MessageRow.skip_reason)
            )
        }


def sent_arms(db: Database, campaign_id: str) -> dict[str, str]:
    """Arm of every sent message of a campaign, by message id."""
    with db.session() as s:
        return {
            mid: arm
            for mid, arm in s.execute(
                select(MessageRow.id, MessageRow.arm).where(
                    MessageRow.campaign_id == campaign_id,
                    MessageRow.status == MessageStatus.SENT,
                )
            )
        }


def sent_with_angle(db: Database, campaign_id: str, step_id: str) -> list[tuple[MessageRow, str]]:
    """Sent messages of one journey step, each with its variant's angle (detached rows)."""
    with db.session() as s:
        return [
            (m, angle)
            for m, angle in s.execute(
                select(MessageRow, VariantRow.angle)
                .join(VariantRow, VariantRow.id == MessageRow.variant_id)
                .where(
                    MessageRow.campaign_id == campaign_id,
                    MessageRow.step_id == step_id,
                    MessageRow.status == MessageStatus.SENT,
                )
            )
        ]


def message_body(db: Database, message_id: str) -> str | None:
    """The stored (untracked) body of a message, or None if there is no such message."""
    with db.session() as s:
        return s.scalars(select(MessageRow.body).where(MessageRow.id == message_id)).first()
