"""`autocmo worker --queue`: worker processes taking dispatch jobs from the distributed job
queue (procrastinate) on a real PostgreSQL, sending to a real SMTP sink.

Two workers, each with its own data directory (as on two hosts), share the outbox: every
message is sent exactly once, and both took part. A worker killed with -9 in the middle of a
job loses nothing: the next worker's sweep finds the due rows (and the dead job's claims once
they lapse) and sends them; only the messages in flight at the kill can reach the sink twice,
with the same Message-ID.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.db import Database
from core.settings import Settings
from tests.integration.test_worker import REPO, T0, _local_ids, _seed, _statuses
from tests.support.servers import SMTPSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

pytest.importorskip("procrastinate")
CONCURRENCY = 4
LEASE_S = 3.0


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def _queue_worker(data_dir: Path, sink: SMTPSink, pg_url: str) -> subprocess.Popen[str]:
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
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--queue", "--as-of", T0.isoformat()],
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
