"""One scheduled outbox message for tests that exercise the dispatcher and inbound webhooks."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.db import Database, MessageRow


def add_scheduled_message(
    db: Database, mid: str, customer_id: str, channel: str, to: str, *, due: datetime
) -> None:
    """A scheduled step-1 message of campaign `cmp_1` to `to`, due a minute before `due`."""
    with db.session() as s:
        s.add(
            MessageRow(
                id=mid,
                idempotency_key=f"k:{mid}",
                campaign_id="cmp_1",
                step_id="s1",
                customer_id=customer_id,
                variant_id="v",
                arm="A",
                channel=channel,
                to_address=to,
                subject="Hi" if channel == "email" else None,
                body="Hello. Reply STOP to opt out.",
                scheduled_at=due - timedelta(minutes=1),
                status="scheduled",
            )
        )
