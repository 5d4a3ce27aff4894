"""Campaign lifecycle repository: pause, resume, stop and complete a live campaign.

Each change is one transaction that also writes its audit record (who, why, what changed):

- **pause** (active → paused): the messages stay `scheduled`; the dispatcher claims none of
  them while the campaign is paused, and hands back any it had already claimed.
- **resume** (paused → active): the messages due meanwhile go out at the next dispatch.
- **stop** (activating, active or paused → stopped): every still-scheduled message is skipped
  with `campaign_stopped`; a message a dispatcher holds at that moment is skipped at its check;
  activation jobs not started yet write nothing.
- **complete** (active → completed): the worker's call once nothing is left to send and the
  measurement window after the last send has closed; the final report is stored with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, update

from core.audit import decision_row
from core.campaigns import NotFound
from core.db import CampaignRow, Database, FinalReportRow, MessageRow, rowcount, utcnow
from core.models import CampaignStatus, MessageStatus, SkipReason


class TransitionError(ValueError):
    """The campaign is not in a status the change applies to; the message says what is."""


class LifecycleChange(BaseModel):
    """What a pause, resume or stop did."""

    campaign_id: str
    """The campaign."""
    previous: CampaignStatus
    """Its status before."""
    status: CampaignStatus
    """Its status now."""
    by: str
    """Who asked (audited)."""
    reason: str
    """Why (audited)."""
    messages_skipped: int = 0
    """Scheduled messages skipped by a stop."""


_ALLOWED: dict[str, tuple[CampaignStatus, ...]] = {
    "pause": (CampaignStatus.ACTIVE,),
    "resume": (CampaignStatus.PAUSED,),
    "stop": (CampaignStatus.ACTIVATING, CampaignStatus.ACTIVE, CampaignStatus.PAUSED),
}
_TARGET = {
    "pause": CampaignStatus.PAUSED,
    "resume": CampaignStatus.ACTIVE,
    "stop": CampaignStatus.STOPPED,
}


def allowed_actions(status: CampaignStatus) -> list[str]:
    """The lifecycle actions (pause, resume, stop) a campaign in `status` allows."""
    return [action for action, sources in _ALLOWED.items() if status in sources]


def pause_campaign(db: Database, campaign_id: str, *, by: str, reason: str) -> LifecycleChange:
    """Hold a live campaign: nothing of it is sent until it is resumed."""
    return _change(db, campaign_id, "pause", by=by, reason=reason)


def resume_campaign(db: Database, campaign_id: str, *, by: str, reason: str) -> LifecycleChange:
    """Let a paused campaign send again."""
    return _change(db, campaign_id, "resume", by=by, reason=reason)


def stop_campaign(db: Database, campaign_id: str, *, by: str, reason: str) -> LifecycleChange:
    """End a live or paused campaign for good: its scheduled messages are skipped."""
    return _change(db, campaign_id, "stop", by=by, reason=reason)


def _change(
    db: Database, campaign_id: str, action: str, *, by: str, reason: str
) -> LifecycleChange:
    if not by.strip():
        raise ValueError(f"Say who asks to {action} (e.g. --by jane@brand.com): it is audited.")
    with db.session() as s:
        row = s.get(CampaignRow, campaign_id, with_for_update=True)
        if row is None:
            raise NotFound(f"No campaign {campaign_id!r}. List campaigns with `autocmo campaigns`.")
        previous = CampaignStatus(row.status)
        if previous not in _ALLOWED[action]:
            allowed = " or ".join(st.value for st in _ALLOWED[action])
            raise TransitionError(
                f"Campaign {campaign_id} is {previous.value}; only a campaign that is {allowed} "
                f"can be {'stopped' if action == 'stop' else action + 'd'}."
            )
        target = _TARGET[action]
        row.status = target.value
        row.updated_at = utcnow()
        skipped = 0
        if action == "stop":
            skipped = rowcount(
                s.execute(
                    update(MessageRow)
                    .where(
                        MessageRow.campaign_id == campaign_id,
                        MessageRow.status == MessageStatus.SCHEDULED.value,
                    )
                    .values(
                        status=MessageStatus.SKIPPED.value,
                        skip_reason=SkipReason.CAMPAIGN_STOPPED.value,
                    )
                )
            )
        change = LifecycleChange(
            campaign_id=campaign_id,
            previous=previous,
            status=target,
            by=by,
            reason=reason,
            messages_skipped=skipped,
        )
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="human",
                action=f"{action}_campaign",
                reason=reason or f"{action} requested by {by}",
                evidence=change.model_dump(mode="json"),
            )
        )
        return change


def measurement_closes_at(db: Database, campaign_id: str, *, window_days: float) -> datetime | None:
    """When the campaign's measurement window closes: its last send (or last scheduled time of a
    message that was skipped) plus `window_days`. None while a message is still waiting to be
    sent or being sent, or when the campaign has no message at all."""
    with db.session() as s:
        waiting = s.scalar(
            select(func.count()).where(
                MessageRow.campaign_id == campaign_id,
                MessageRow.status.in_([MessageStatus.SCHEDULED.value, MessageStatus.SENDING.value]),
            )
        )
        if waiting:
            return None
        last_sent, last_scheduled = s.execute(
            select(func.max(MessageRow.sent_at), func.max(MessageRow.scheduled_at)).where(
                MessageRow.campaign_id == campaign_id
            )
        ).one()
    last = max((t for t in (last_sent, last_scheduled) if t is not None), default=None)
    return None if last is None else last + timedelta(days=window_days)


def complete_campaign(
    db: Database,
    campaign_id: str,
    *,
    report: dict[str, Any],
    closed_at: datetime,
    evidence: dict[str, Any],
) -> bool:
    """Mark an active campaign completed and store its final report, with the audit record,
    in one transaction. Returns False (and changes nothing) when it is no longer active, so a
    second worker or a re-run completes it at most once."""
    with db.session() as s:
        done = rowcount(
            s.execute(
                update(CampaignRow)
                .where(
                    CampaignRow.id == campaign_id,
                    CampaignRow.status == CampaignStatus.ACTIVE.value,
                )
                .values(status=CampaignStatus.COMPLETED.value, updated_at=utcnow())
            )
        )
        if not done:
            return False
        s.add(FinalReportRow(campaign_id=campaign_id, report=report, closed_at=closed_at))
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="worker",
                action="completed",
                reason=(
                    f"measurement window closed at {closed_at.isoformat()}: nothing left to "
                    "send; final report stored"
                ),
                evidence=evidence,
            )
        )
        return True


def final_report(db: Database, campaign_id: str) -> dict[str, Any] | None:
    """The report stored when the campaign completed, or None."""
    with db.session() as s:
        row = s.get(FinalReportRow, campaign_id)
        return None if row is None else dict(row.report)
