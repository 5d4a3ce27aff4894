"""A large activation split into jobs of the distributed job queue.

With `Settings.queue_activation` (PostgreSQL), approving a one-off campaign with more treated
people than `queue_activation_job_size` does not write its outbox in the approving process: the
treated people (sorted by id) are cut into jobs, the campaign becomes `activating`, and the jobs
go to the job queue, where any `autocmo worker --queue` process on any host takes them. Each job
writes its people's outbox through `schedule_campaign` (idempotent by message key, so a retried
or repeated job adds nothing twice); the last job done makes the campaign `active`. Recurring and
triggered launches write nothing large at launch, and per-person LLM copy keeps one cost ceiling
for the whole audience: those activate in the approving process as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agents.activation import ActivationReport, schedule_campaign
from brand_guardrails.kit import BrandKit
from core import activation_jobs as jobs
from core import campaigns as repo
from core.db import Database
from core.models import Plan
from core.settings import Settings
from tools.jobqueue import conninfo, queue_activation_jobs


def split_launch(
    db: Database,
    settings: Settings,
    *,
    campaign_id: str,
    plan: Plan,
    treated: Sequence[str],
    start: datetime,
) -> int | None:
    """Split the launch's activation into queued jobs when the settings ask for it and it is
    large enough; the number of jobs, or None when the caller activates in process."""
    size = settings.queue_activation_job_size
    one_off = plan.objective.trigger is None and plan.objective.recurrence is None
    if not settings.queue_activation or not one_off or plan.personal_copy is not None:
        return None
    if len(treated) <= size:
        return None
    conninfo(settings)  # refuse SQLite before anything is recorded
    chunks = jobs.split_activation(db, campaign_id, size=size, start=start)
    queue_activation_jobs(settings, campaign_id, chunks)
    return len(chunks)


def run_activation_job(
    db: Database,
    settings: Settings,
    kit: BrandKit,
    campaign_id: str,
    chunk: int,
    *,
    last_attempt: bool,
) -> ActivationReport | None:
    """Write the outbox of one activation job's people, and make the campaign active if it was
    the last job left. None when there is nothing to do (the job is done or unknown, or the
    campaign was stopped meanwhile). A failure is recorded on the job (`failed` on the
    `last_attempt`, else `retrying`) and raised, so the queue retries it."""
    found = jobs.job_people(db, campaign_id, chunk)
    if found is None or not jobs.begin_job(db, campaign_id, chunk):
        return None
    people, start = found
    try:
        plan = repo.latest_plan(db, campaign_id)
        if plan is None:
            raise LookupError(f"campaign {campaign_id} has no plan")
        report = schedule_campaign(
            db,
            settings,
            kit,
            campaign_id=campaign_id,
            plan=plan,
            variants=repo.load_variants(db, campaign_id),
            treated=people,
            start=start,
        )
    except Exception as exc:
        jobs.fail_job(db, campaign_id, chunk, _summary(exc), final=last_attempt)
        raise
    jobs.finish_job(
        db, campaign_id, chunk, scheduled=report.scheduled, skipped=sum(report.skipped.values())
    )
    jobs.activate_when_done(db, campaign_id)
    return report


def _summary(exc: Exception) -> str:
    """What went wrong, for the campaign report: the error's first line, shortened (a database
    error's next lines carry its statement and the rows' values, personal data included)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:300]}"
