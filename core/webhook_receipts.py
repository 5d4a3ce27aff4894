"""Webhook receipt repository: remembers signed inbound webhooks already applied, within a
replay window, so the same signed request sent again changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from core.db import Database, WebhookReceiptRow


def first_receipt(
    db: Database, source: str, receipt_id: str, at: datetime, window: timedelta
) -> bool:
    """Record a receipt; False if `source` already received `receipt_id` within `window`
    (a replay). Receipts older than the window are pruned."""
    if at.tzinfo is None:
        raise ValueError("receipt time must be timezone-aware (UTC)")
    with db.session() as s:
        s.execute(
            delete(WebhookReceiptRow).where(
                WebhookReceiptRow.source == source, WebhookReceiptRow.at < at - window
            )
        )
    try:
        with db.session() as s:
            s.add(WebhookReceiptRow(source=source, receipt_id=receipt_id[:128], at=at))
    except IntegrityError:
        return False
    return True


def forget_receipt(db: Database, source: str, receipt_id: str) -> None:
    """Drop a receipt whose request could not be applied, so the provider's retry is not
    mistaken for a replay."""
    with db.session() as s:
        s.execute(
            delete(WebhookReceiptRow).where(
                WebhookReceiptRow.source == source,
                WebhookReceiptRow.receipt_id == receipt_id[:128],
            )
        )
