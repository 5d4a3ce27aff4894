"""Outcome repository: what happened after sends (and to holdout members)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from core.db import Database, OutcomeRow
from core.models import Outcome


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
