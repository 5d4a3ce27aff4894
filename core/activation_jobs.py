"""Activation job repository: a large activation split into jobs of the job queue.

`split_activation` cuts a campaign's treated people (sorted by id) into jobs and marks the
campaign `activating` in one transaction. Each job then records its attempts (`begin_job`,
`fail_job`, `finish_job`); the job that finds no other job left unfinished moves the campaign
to `active` (`activate_when_done`), once, with its audit record.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import Update, and_, func, select, update

from core.audit import decision_row
from core.db import ActivationJobRow, AssignmentRow, CampaignRow, Database, rowcount, utcnow
from core.models import CampaignStatus


class ActivationJobView(BaseModel):
    """Where one activation job stands (the campaign report lists them)."""

    chunk: int
    """The job's place in the campaign's treated people (0, 1, 2 …)."""
    people: int
    """Treated people in the job."""
    status: str
    """queued, running, retrying (failed, a later attempt is queued), done or failed."""
    attempts: int
    """Attempts started (a retry after a failure or a lost worker adds one)."""
    scheduled: int
    """Messages its last successful attempt scheduled."""
    skipped: int
    """Messages it skipped, whatever the reason (`ActivationReport.skipped`)."""
    error: str | None
    """The last failure, if any."""


def split_activation(db: Database, campaign_id: str, *, size: int, start: datetime) -> list[int]:
    """Cut the campaign's treated people into jobs of `size`, record them and mark the campaign
    `activating`, in one transaction. Returns the jobs' chunk numbers.

    A job is a range of customer ids in the database's own order (its collation), read here,
    so that `job_people`'s range query finds exactly the job's people."""
    now = utcnow()
    chunks = []
    with db.session() as s:
        people = list(
            s.scalars(
                select(AssignmentRow.customer_id)
                .where(AssignmentRow.campaign_id == campaign_id, AssignmentRow.group == "treated")
                .order_by(AssignmentRow.customer_id)
            )
        )
        for k, at in enumerate(range(0, len(people), size)):
            part = people[at : at + size]
            s.add(
                ActivationJobRow(
                    campaign_id=campaign_id,
                    chunk=k,
                    first_customer_id=part[0],
                    last_customer_id=part[-1],
                    people=len(part),
                    start_at=start,
                    status="queued",
                    attempts=0,
                    scheduled=0,
                    skipped=0,
                    updated_at=now,
                )
            )
            chunks.append(k)
        s.execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id)
            .values(status=CampaignStatus.ACTIVATING.value, updated_at=now)
        )
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="activation",
                action="split_into_jobs",
                reason=(
                    f"{len(people)} treated people split into {len(chunks)} activation jobs of "
                    f"up to {size} people on the job queue; the campaign becomes active when "
                    "the last one is done"
                ),
                evidence={"people": len(people), "jobs": len(chunks), "size": size},
            )
        )
    return chunks


def job_people(db: Database, campaign_id: str, chunk: int) -> tuple[list[str], datetime] | None:
    """The treated people of one job (sorted by id) and the campaign's start; None when the job
    is unknown."""
    with db.session() as s:
        job = s.get(ActivationJobRow, (campaign_id, chunk))
        if job is None:
            return None
        ids = s.scalars(
            select(AssignmentRow.customer_id)
            .where(
                AssignmentRow.campaign_id == campaign_id,
                AssignmentRow.group == "treated",
                AssignmentRow.customer_id >= job.first_customer_id,
                AssignmentRow.customer_id <= job.last_customer_id,
            )
            .order_by(AssignmentRow.customer_id)
        ).all()
        return list(ids), job.start_at


def _unfinished(campaign_id: str, chunk: int) -> Update:
    """An UPDATE of one job, unless it is done (another attempt may have finished it)."""
    return update(ActivationJobRow).where(
        ActivationJobRow.campaign_id == campaign_id,
        ActivationJobRow.chunk == chunk,
        ActivationJobRow.status != "done",
    )


def begin_job(db: Database, campaign_id: str, chunk: int) -> bool:
    """Record the start of an attempt; False (and nothing changes) when the campaign is no longer
    `activating` (stopped meanwhile) or the job is already done."""
    with db.session() as s:
        status = s.scalar(select(CampaignRow.status).where(CampaignRow.id == campaign_id))
        if status != CampaignStatus.ACTIVATING.value:
            return False
        started = s.execute(
            _unfinished(campaign_id, chunk).values(
                status="running", attempts=ActivationJobRow.attempts + 1, updated_at=utcnow()
            )
        )
        return rowcount(started) > 0


def fail_job(db: Database, campaign_id: str, chunk: int, error: str, *, final: bool) -> None:
    """Record a failed attempt: `retrying` while the queue will try again, `failed` after the
    last attempt (a job another attempt has done meanwhile stays done)."""
    with db.session() as s:
        s.execute(
            _unfinished(campaign_id, chunk).values(
                status="failed" if final else "retrying", error=error, updated_at=utcnow()
            )
        )


def finish_job(db: Database, campaign_id: str, chunk: int, *, scheduled: int, skipped: int) -> None:
    """Record a job done with what it wrote (unless another attempt has done it meanwhile)."""
    with db.session() as s:
        s.execute(
            _unfinished(campaign_id, chunk).values(
                status="done", scheduled=scheduled, skipped=skipped, error=None, updated_at=utcnow()
            )
        )


def activate_when_done(db: Database, campaign_id: str) -> bool:
    """Move an `activating` campaign to `active` when every one of its jobs is done, with the
    audit record. True for the one call that did it (jobs finishing at once race for it)."""
    with db.session() as s:
        left = s.scalar(
            select(func.count()).where(
                ActivationJobRow.campaign_id == campaign_id, ActivationJobRow.status != "done"
            )
        )
        if left:
            return False
        moved = s.execute(
            update(CampaignRow)
            .where(
                CampaignRow.id == campaign_id,
                CampaignRow.status == CampaignStatus.ACTIVATING.value,
            )
            .values(status=CampaignStatus.ACTIVE.value, updated_at=utcnow())
        )
        if not rowcount(moved):
            return False
        jobs, people, scheduled = s.execute(
            select(
                func.count(),
                func.sum(ActivationJobRow.people),
                func.sum(ActivationJobRow.scheduled),
            ).where(ActivationJobRow.campaign_id == campaign_id)
        ).one()
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="activation",
                action="activation_jobs_done",
                reason=(
                    f"all {jobs} activation jobs done ({people} treated people, {scheduled} "
                    "messages scheduled): the campaign is active"
                ),
                evidence={"jobs": jobs, "people": people, "scheduled": scheduled},
            )
        )
        return True


def requeue_failed(db: Database, campaign_id: str, *, by: str) -> list[int]:
    """Put the failed jobs of an `activating` campaign back to `queued` (after their cause was
    mended), with the audit record; returns their chunk numbers (empty: nothing to retry)."""
    with db.session() as s:
        status = s.scalar(select(CampaignRow.status).where(CampaignRow.id == campaign_id))
        if status != CampaignStatus.ACTIVATING.value:
            return []
        chunks = list(
            s.scalars(
                update(ActivationJobRow)
                .where(
                    ActivationJobRow.campaign_id == campaign_id,
                    ActivationJobRow.status == "failed",
                )
                .values(status="queued", updated_at=utcnow())
                .returning(ActivationJobRow.chunk)
            )
        )
        if chunks:
            s.add(
                decision_row(
                    campaign_id=campaign_id,
                    agent="human",
                    action="activation_jobs_requeued",
                    reason=f"{len(chunks)} failed activation jobs queued again",
                    evidence={"by": by, "chunks": sorted(chunks)},
                )
            )
        return sorted(chunks)


def queued_jobs(db: Database) -> list[tuple[str, int]]:
    """(campaign, chunk) of the jobs of `activating` campaigns that no attempt has started yet:
    the jobs the queue may have lost (e.g. a crash between the split and the queueing)."""
    with db.session() as s:
        rows = s.execute(
            select(ActivationJobRow.campaign_id, ActivationJobRow.chunk)
            .join(
                CampaignRow,
                and_(
                    CampaignRow.id == ActivationJobRow.campaign_id,
                    CampaignRow.status == CampaignStatus.ACTIVATING.value,
                ),
            )
            .where(ActivationJobRow.status == "queued")
            .order_by(ActivationJobRow.campaign_id, ActivationJobRow.chunk)
        )
        return [(c, k) for c, k in rows]


def list_jobs(db: Database, campaign_id: str) -> list[ActivationJobView]:
    """A campaign's activation jobs in order (empty when its activation was not split)."""
    with db.session() as s:
        rows = s.scalars(
            select(ActivationJobRow)
            .where(ActivationJobRow.campaign_id == campaign_id)
            .order_by(ActivationJobRow.chunk)
        )
        return [
            ActivationJobView(
                chunk=r.chunk,
                people=r.people,
                status=r.status,
                attempts=r.attempts,
                scheduled=r.scheduled,
                skipped=r.skipped,
                error=r.error,
            )
            for r in rows
        ]
