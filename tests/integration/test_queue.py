"""`autocmo worker --queue`: worker processes taking dispatch and activation jobs from the
distributed job queue (procrastinate) on a real PostgreSQL, sending to a real SMTP sink.

Two workers, each with its own data directory (as on two hosts), share the outbox: every
message is sent exactly once, and both took part. A worker killed with -9 in the middle of a
job loses nothing: the next worker's sweep finds the due rows (and the dead job's claims once
they lapse) and sends them; only the messages in flight at the kill can reach the sink twice,
with the same Message-ID. A worker killed with -9 in the middle of an activation job leaves it
`doing`; procrastinate's stalled-job recovery (worker heartbeats) gives it to another worker.
Two workers write the outbox of a launch split into activation jobs: each treated person gets
exactly one message per step, and a job failing on a database error shows in the campaign
report until a retry succeeds. Jobs recorded but never queued are queued by the sweep.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from agents.reporting import campaign_report
from core import campaigns as repo
from core.activation_jobs import split_activation
from core.db import Database, MessageRow
from core.models import CampaignStatus
from core.settings import Settings
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded
from tests.integration.test_worker import REPO, T0, _local_ids, _seed, _statuses
from tests.support.servers import SMTPSink
from tools.delivery.tokens import verify_token

pytestmark = [pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("procrastinate")
CONCURRENCY = 4
LEASE_S = 3.0
SECRET = "queue-test-secret-key-shared-by-every-host"


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def _queue_worker(
    data_dir: Path,
    sink: SMTPSink,
    pg_url: str,
    *,
    as_of: datetime = T0,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL")
        and not k.startswith("AUTOCMO_")
    }
    env.update(
        {
            "AUTOCMO_DATA_DIR": str(data_dir),
            "DATABASE_URL": pg_url,
            "AUTOCMO_SMTP_HOST": "127.0.0.1",
            "AUTOCMO_SMTP_PORT": str(sink.port),
            "AUTOCMO_DISPATCH_LEASE": str(LEASE_S),
            "AUTOCMO_DISPATCH_BATCH": "20",
            "AUTOCMO_DISPATCH_COMMIT_EVERY": "5",
            "AUTOCMO_DISPATCH_CONCURRENCY": str(CONCURRENCY),
            "AUTOCMO_QUEUE_FANOUT": "4",
            "AUTOCMO_QUEUE_SWEEP_CRON": "* * * * * */2",  # every 2 seconds
            "HF_HUB_OFFLINE": "1",
            "AUTOCMO_SECRET_KEY": SECRET,  # every host signs links with the server's key
            **(extra_env or {}),
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--queue", "--as-of", as_of.isoformat()],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(cond: Callable[[], bool], timeout: float, procs: list[subprocess.Popen[str]]) -> None:
    """Wait for `cond`; fail with the worker's output if a worker exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        for proc in procs:
            if proc.poll() is not None:
                out, _ = proc.communicate(timeout=10)
                for other in procs:
                    other.kill()
                pytest.fail(f"a queue worker exited early with {proc.returncode}:\n{out}")
        time.sleep(0.05)
    for proc in procs:
        proc.kill()
    outs = "\n---\n".join(p.communicate(timeout=10)[0] for p in procs)
    pytest.fail(f"timed out waiting for the queue workers:\n{outs[-4000:]}")


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def test_two_queue_workers_on_postgres_send_every_message_exactly_once(
    tmp_path: Path, smtp_sink: SMTPSink, pg_url: str
) -> None:
    db = Database(pg_url)
    db.migrate()
    expected = _seed(db, 240)
    smtp_sink.delay_s = 0.002
    workers = [_queue_worker(tmp_path / f"host{k}", smtp_sink, pg_url) for k in (1, 2)]
    try:
        _wait_for(lambda: _statuses(db).get("sent", 0) == len(expected), 120, workers)
        outs = [_stop(w) for w in workers]
        assert _statuses(db) == {"sent": len(expected)}
    finally:
        for w in workers:
            w.kill()
        db.dispose()
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected
    assert set(ids.values()) == {1}  # exactly once, no de-duplication needed
    # Both processes took dispatch jobs and sent through them.
    for out in outs:
        sent = [
            int(n) for n in re.findall(r"dispatch job \d+ \(slot \d+\): \{[^}]*'sent': (\d+)", out)
        ]
        assert sum(sent) > 0, out
        assert "taking jobs from queue 'autocmo' (procrastinate)" in out


def test_a_worker_killed_mid_job_loses_nothing(
    settings: Settings, smtp_sink: SMTPSink, pg_url: str
) -> None:
    db = Database(pg_url)
    db.migrate()
    expected = _seed(db, 120)
    smtp_sink.delay_s = 0.03  # ~30 per second: the kill lands inside a dispatch job
    first = _queue_worker(settings.data_dir, smtp_sink, pg_url)
    _wait_for(lambda: _statuses(db).get("sent", 0) >= 10, 90, [first])
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)
    at_kill = _statuses(db)
    assert at_kill.get("sending", 0) > 0, at_kill  # the lost job held a claim

    smtp_sink.delay_s = 0.0
    second = _queue_worker(settings.data_dir, smtp_sink, pg_url)  # the same host
    try:
        _wait_for(lambda: _statuses(db).get("sent", 0) == len(expected), 120, [second])
        out = _stop(second)
        assert _statuses(db) == {"sent": len(expected)}, out
    finally:
        second.kill()
        db.dispose()
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected  # nothing lost
    duplicates = sum(n - 1 for n in ids.values())
    print(f"queue worker kill -9: {duplicates} duplicates (concurrency {CONCURRENCY})")
    assert duplicates <= CONCURRENCY  # at most the messages in flight at the kill


def test_the_queue_on_sqlite_is_refused_with_a_clear_error(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"AUTOCMO_DATA_DIR": str(settings.data_dir), "HF_HUB_OFFLINE": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "worker", "--queue"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs PostgreSQL" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


JOB_SIZE = 30
_ACTIVATION_ENV = {
    "AUTOCMO_QUEUE_CONCURRENCY": "1",
    "AUTOCMO_QUEUE_STALLED_AFTER": "2",
}


@contextlib.contextmanager
def _launch(settings: Settings, pg_url: str, customers: int) -> Iterator[tuple[Deps, str, str]]:
    """A seeded world on PostgreSQL that splits activations into jobs of `JOB_SIZE`, and a
    launch waiting for approval: (deps, campaign, approval)."""
    deps = seeded(
        settings.model_copy(
            update={
                "database_url": pg_url,
                "secret_key": SECRET,
                "queue_activation": True,
                "queue_activation_job_size": JOB_SIZE,
            }
        ),
        customers=customers,
        with_rules=False,
    )
    try:
        res = submit_brief(deps, WINBACK_BRIEF)
        assert res.approval_id
        yield deps, res.campaign_id, res.approval_id
    finally:
        deps.db.dispose()


def _pg(pg_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )


def _workers_registered(pg_url: str, n: int) -> Callable[[], bool]:
    def ready() -> bool:
        with _pg(pg_url) as conn:
            try:
                row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
            except psycopg.errors.UndefinedTable:
                return False
        return row is not None and int(str(row[0])) >= n

    return ready


def _status_is(deps: Deps, cid: str, status: CampaignStatus) -> Callable[[], bool]:
    return lambda: repo.get_campaign(deps.db, cid).status == status


def _one_message_per_person_and_step(deps: Deps, cid: str) -> None:
    plan = repo.latest_plan(deps.db, cid)
    assert plan is not None
    treated = {c for c, _ in repo.assignments(deps.db, cid, "treated")}
    with deps.db.session() as s:
        rows = s.execute(
            select(MessageRow.customer_id, MessageRow.step_id, func.count())
            .where(MessageRow.campaign_id == cid)
            .group_by(MessageRow.customer_id, MessageRow.step_id)
        )
        per = {(c, step): int(n) for c, step, n in rows}
    assert set(per) == {(c, step.id) for c in treated for step in plan.journey}
    assert set(per.values()) == {1}
    with deps.db.session() as s:  # the workers' unsubscribe links verify on the server
        bodies = s.scalars(
            select(MessageRow.body).where(
                MessageRow.campaign_id == cid,
                MessageRow.status == "scheduled",
                MessageRow.channel == "email",
            )
        ).all()
    tokens = [m.group(1) for b in bodies if (m := re.search(r"/u/([\w.-]+)", b))]
    assert len(tokens) == len(bodies) > 0
    for token in tokens:
        assert verify_token(deps.settings.secret_key, token)["campaign_id"] == cid


def test_two_queue_workers_activate_a_launch_split_into_jobs(
    settings: Settings, smtp_sink: SMTPSink, pg_url: str
) -> None:
    with _launch(settings, pg_url, customers=900) as (deps, cid, approval):
        treated = sorted(c for c, _ in repo.assignments(deps.db, cid, "treated"))
        assert len(treated) > 4 * JOB_SIZE
        victim = treated[JOB_SIZE + 3]  # in job #1
        with _pg(pg_url) as conn:  # a real database error in one job, until it is mended
            conn.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$"
            )
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW "
                f"WHEN (NEW.customer_id = '{victim}') EXECUTE FUNCTION refuse()"
            )
            # every insert takes 5 ms, so a job lasts a fraction of a second: otherwise, on a
            # busy machine, one worker could drain every job before the other wakes up
            conn.execute(
                "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(0.005); RETURN NEW; END $$"
            )
            conn.execute(
                "CREATE TRIGGER slow BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION slow()"
            )
        workers = [
            _queue_worker(
                settings.data_dir.parent / f"host{k}",
                smtp_sink,
                pg_url,
                as_of=NOW,
                extra_env=_ACTIVATION_ENV,
            )
            for k in (1, 2)
        ]
        try:
            _wait_for(_workers_registered(pg_url, 2), 120, workers)
            decided = decide(deps, approval, approved=True, decided_by="qa")
            assert decided.campaign_status == CampaignStatus.ACTIVATING

            def job_one_failed() -> bool:
                views = campaign_report(deps.db, cid).activation_jobs
                return views[1].status == "retrying" and all(
                    v.status == "done" for v in views if v.chunk != 1
                )

            _wait_for(job_one_failed, 120, workers)
            view = campaign_report(deps.db, cid).activation_jobs[1]
            assert view.error is not None and "disk quota exceeded" in view.error
            assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVATING
            with _pg(pg_url) as conn:
                conn.execute("DROP TRIGGER refuse ON messages")
            _wait_for(_status_is(deps, cid, CampaignStatus.ACTIVE), 120, workers)
            outs = [_stop(w) for w in workers]
        finally:
            for w in workers:
                w.kill()
        views = campaign_report(deps.db, cid).activation_jobs
        assert len(views) == -(-len(treated) // JOB_SIZE)
        assert {v.status for v in views} == {"done"}
        assert views[1].attempts >= 2 and views[1].error is None
        _one_message_per_person_and_step(deps, cid)
        for out in outs:  # both processes took activation jobs
            assert re.search(r"activation job \S+ #\d+ \(try \d+\): [1-9]\d* scheduled", out), out


def test_a_worker_killed_mid_activation_job_has_its_job_retried(
    settings: Settings, smtp_sink: SMTPSink, pg_url: str
) -> None:
    with _launch(settings, pg_url, customers=600) as (deps, cid, approval):
        with _pg(pg_url) as conn:  # every message insert takes 10 ms: a job lasts about a second
            conn.execute(
                "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$"
            )
            conn.execute(
                "CREATE TRIGGER slow BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION slow()"
            )
        first = _queue_worker(
            settings.data_dir / "host1", smtp_sink, pg_url, as_of=NOW, extra_env=_ACTIVATION_ENV
        )
        _wait_for(_workers_registered(pg_url, 1), 120, [first])
        decide(deps, approval, approved=True, decided_by="qa")

        def running() -> int | None:
            with _pg(pg_url) as conn:
                row = conn.execute(
                    "SELECT j.id FROM procrastinate_jobs j JOIN activation_jobs a "
                    "ON a.campaign_id = j.args->>'campaign_id' "
                    "AND a.chunk = (j.args->>'chunk')::int "
                    "WHERE j.status = 'doing' AND j.task_name = 'autocmo.activate' "
                    "AND a.status = 'running'"
                ).fetchone()
            return None if row is None else int(str(row[0]))

        _wait_for(lambda: running() is not None, 120, [first])
        killed = running()
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
        with _pg(pg_url) as conn:
            row = conn.execute("SELECT status FROM procrastinate_jobs WHERE id = %s", (killed,))
            assert row.fetchone() == ("doing",)  # left behind by the dead worker
            conn.execute("DROP TRIGGER slow ON messages")

        second = _queue_worker(
            settings.data_dir / "host2", smtp_sink, pg_url, as_of=NOW, extra_env=_ACTIVATION_ENV
        )
        try:
            _wait_for(_status_is(deps, cid, CampaignStatus.ACTIVE), 120, [second])
            out = _stop(second)
        finally:
            second.kill()
        assert f"stalled job {killed} (autocmo.activate) of a lost worker: retried" in out, out
        assert max(v.attempts for v in campaign_report(deps.db, cid).activation_jobs) >= 2
        _one_message_per_person_and_step(deps, cid)


def test_activation_jobs_lost_before_queueing_are_queued_by_the_sweep(
    settings: Settings, smtp_sink: SMTPSink, pg_url: str
) -> None:
    with _launch(settings, pg_url, customers=400) as (deps, cid, _):
        # The approving process died after recording the jobs and before queueing them.
        chunks = split_activation(deps.db, cid, size=JOB_SIZE, start=NOW)
        assert len(chunks) > 1
        worker = _queue_worker(
            settings.data_dir / "host1", smtp_sink, pg_url, as_of=NOW, extra_env=_ACTIVATION_ENV
        )
        try:
            _wait_for(_status_is(deps, cid, CampaignStatus.ACTIVE), 120, [worker])
            out = _stop(worker)
        finally:
            worker.kill()
        assert f"sweep: {len(chunks)} activation jobs queued again" in out, out
        _one_message_per_person_and_step(deps, cid)
