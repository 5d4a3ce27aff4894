"""Run repository: the runs of recurring campaigns, one per campaign and period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import decision_row
from core.db import CampaignRunRow, Database


def begin_run(db: Database, campaign_id: str, run_key: str, *, at: datetime) -> bool:
    """Record the start of a run. True when the run is new, or was started but never finished
    (a crash mid-run: writing its outbox again is idempotent); False when it already finished."""
    try:
        with db.session() as s:
            row = s.get(CampaignRunRow, (campaign_id, run_key))
            if row is not None:
                return row.finished_at is None
            s.add(CampaignRunRow(campaign_id=campaign_id, run_key=run_key, started_at=at))
    except IntegrityError:  # another worker recorded it between our read and our insert
        return False
    return True


def finish_run(
    db: Database, campaign_id: str, run_key: str, *, at: datetime, scheduled: int, reason: str
) -> None:
    """Mark a run finished, with its audit record."""
    with db.session() as s:
        row = s.get(CampaignRunRow, (campaign_id, run_key))
        if row is None:
            raise LookupError(f"run {run_key} of campaign {campaign_id} was never started")
        row.finished_at = at
        row.scheduled = scheduled
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="worker",
                action="recurring_run",
                reason=reason,
                evidence={"run_key": run_key, "scheduled": scheduled, "at": at.isoformat()},
            )
        )


def run_keys(db: Database, campaign_id: str) -> list[str]:
    """The keys of a campaign's finished runs, oldest first."""
    with db.session() as s:
        return list(
            s.scalars(
                select(CampaignRunRow.run_key)
                .where(
                    CampaignRunRow.campaign_id == campaign_id,
                    CampaignRunRow.finished_at.is_not(None),
                )
                .order_by(CampaignRunRow.run_key)
            )
        )
