"""A large activation split into jobs (`agents.activation_jobs`), run job by job in this process
on a real SQLite database: the jobs together write exactly the outbox the in-process activation
writes, a job run again adds nothing, the last job done makes the campaign active, a failing job
is recorded for the campaign report, and a stopped campaign's jobs write nothing.

The job queue itself (procrastinate on PostgreSQL, worker processes, retries, a killed worker)
is tested in tests/integration/test_queue.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from agents.activation import schedule_campaign
from agents.activation_jobs import run_activation_job
from agents.planner import start_time
from agents.reporting import campaign_report
from api.app import create_app
from core import activation_jobs as jobs
from core import campaigns as repo
from core.audit import list_decisions
from core.db import ActivationJobRow, MessageRow
from core.lifecycle import stop_campaign
from core.models import CampaignStatus
from core.settings import Settings
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded
from tests.integration.test_workspace_pages import _login

SIZE = 40


@pytest.fixture
def split(settings: Settings) -> Iterator[tuple[Deps, str, list[str], list[int]]]:
    """A launch waiting for approval, its treated people cut into jobs of `SIZE` (what the
    approval does with `queue_activation`)."""
    deps = seeded(settings, customers=400, with_rules=False)
    res = submit_brief(deps, WINBACK_BRIEF)
    assert res.approval_id
    cid = res.campaign_id
    plan = repo.latest_plan(deps.db, cid)
    assert plan is not None
    treated = [c for c, _ in repo.assignments(deps.db, cid, "treated")]
    chunks = jobs.split_activation(deps.db, cid, size=SIZE, start=start_time(plan.objective, NOW))
    yield deps, cid, treated, chunks
    deps.db.dispose()


def _run(deps: Deps, cid: str, chunk: int, *, last: bool = True) -> object:
    return run_activation_job(deps.db, deps.settings, deps.kit, cid, chunk, last_attempt=last)


def _rows(deps: Deps, cid: str) -> int:
    with deps.db.session() as s:
        n = s.scalar(select(func.count()).where(MessageRow.campaign_id == cid))
    return int(n or 0)


def test_the_jobs_write_the_whole_outbox_once_and_the_last_one_activates(
    split: tuple[Deps, str, list[str], list[int]],
) -> None:
    deps, cid, treated, chunks = split
    assert len(chunks) == -(-len(treated) // SIZE) >= 3
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVATING
    plan = repo.latest_plan(deps.db, cid)
    assert plan is not None
    steps = len(plan.journey)

    for chunk in reversed(chunks):  # any order: the queue gives no order
        assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVATING
        report = _run(deps, cid, chunk)
        assert report is not None
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
    assert [d.action for d in list_decisions(deps.db, cid)].count("activation_jobs_done") == 1
    assert _rows(deps, cid) == len(treated) * steps

    # The in-process activation of the same people finds every message already written.
    again = schedule_campaign(
        deps.db,
        deps.settings,
        deps.kit,
        campaign_id=cid,
        plan=plan,
        variants=repo.load_variants(deps.db, cid),
        treated=treated,
        start=start_time(plan.objective, NOW),
    )
    assert (again.scheduled, again.already_present) == (0, len(treated) * steps)
    views = campaign_report(deps.db, cid).activation_jobs
    assert [v.status for v in views] == ["done"] * len(chunks)
    assert sum(v.people for v in views) == len(treated)
    assert sum(v.scheduled for v in views) == _statuses(deps, cid).get("scheduled", 0)


def _statuses(deps: Deps, cid: str) -> dict[str, int]:
    with deps.db.session() as s:
        rows = s.execute(
            select(MessageRow.status, func.count())
            .where(MessageRow.campaign_id == cid)
            .group_by(MessageRow.status)
        )
        return {str(st): int(n) for st, n in rows}


def test_a_job_run_again_adds_nothing(split: tuple[Deps, str, list[str], list[int]]) -> None:
    deps, cid, _, chunks = split
    first = _run(deps, cid, chunks[0])
    written = _rows(deps, cid)
    assert first is not None and written > 0
    assert _run(deps, cid, chunks[0]) is None  # done: nothing to do
    # A worker lost after writing the outbox but before recording the job done: the retry
    # finds every message there and writes none twice.
    with deps.db.session() as s:
        s.execute(
            update(ActivationJobRow)
            .where(ActivationJobRow.campaign_id == cid, ActivationJobRow.chunk == chunks[0])
            .values(status="running")
        )
    retry = _run(deps, cid, chunks[0])
    assert retry is not None
    assert retry.scheduled == 0 and retry.already_present == written
    assert _rows(deps, cid) == written
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVATING


def test_a_failing_job_is_recorded_retried_and_left_failed_after_the_last_try(
    split: tuple[Deps, str, list[str], list[int]],
) -> None:
    deps, cid, _, chunks = split
    bad = chunks[1]
    people = jobs.job_people(deps.db, cid, bad)
    assert people is not None
    victim = people[0][3]
    with deps.db.session() as s:  # a real database failure inside that job's transaction
        s.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                f"WHEN NEW.customer_id = '{victim}' "
                "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
            )
        )
    for chunk in chunks:
        if chunk != bad:
            _run(deps, cid, chunk)
    with pytest.raises(Exception, match="disk quota exceeded"):
        _run(deps, cid, bad, last=False)
    view = campaign_report(deps.db, cid).activation_jobs[bad]
    assert (view.status, view.attempts) == ("retrying", 1)
    assert view.error is not None and "disk quota exceeded" in view.error
    with pytest.raises(Exception, match="disk quota exceeded"):
        _run(deps, cid, bad, last=True)
    view = campaign_report(deps.db, cid).activation_jobs[bad]
    assert (view.status, view.attempts) == ("failed", 2)
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVATING
    assert not [m for m in _people_with_messages(deps, cid) if m in people[0]]  # all or nothing
    assert "[SQL" not in view.error and "@" not in view.error  # no statement, no addresses
    with TestClient(create_app(deps=deps)) as mia:  # the dashboard shows it, and a stop
        _login(mia, "mia")
        page = mia.get(f"/campaigns/{cid}").text
    jobs_table = page[page.index('id="activation-jobs"') :]
    assert f"#{bad}" in jobs_table and "disk quota exceeded" in jobs_table
    assert "Stop campaign" in page

    with deps.db.session() as s:
        s.execute(text("DROP TRIGGER refuse"))
    assert jobs.queued_jobs(deps.db) == []
    assert jobs.requeue_failed(deps.db, cid, by="mia") == [bad]  # `autocmo retry-activation`
    assert jobs.queued_jobs(deps.db) == [(cid, bad)]  # what the sweep queues again
    assert _run(deps, cid, bad) is not None
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
    assert campaign_report(deps.db, cid).activation_jobs[bad].error is None


def _people_with_messages(deps: Deps, cid: str) -> set[str]:
    with deps.db.session() as s:
        return set(s.scalars(select(MessageRow.customer_id).where(MessageRow.campaign_id == cid)))


def test_a_stopped_campaigns_jobs_write_nothing(
    split: tuple[Deps, str, list[str], list[int]],
) -> None:
    deps, cid, _, chunks = split
    _run(deps, cid, chunks[0])
    written = _rows(deps, cid)
    stop_campaign(deps.db, cid, by="qa", reason="wrong audience")
    assert _run(deps, cid, chunks[1]) is None
    assert _rows(deps, cid) == written
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.STOPPED
