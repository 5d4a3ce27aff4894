"""`autocmo worker` in a real subprocess against a real SMTP sink: kill -9 mid-batch and
restart, SIGTERM, and a database that goes away (PostgreSQL) or is locked (SQLite).

What is guaranteed (and asserted): every due message ends `sent`, none is lost, and the SMTP
sink sees every message; counted by `Message-ID` (how a provider that honours the
idempotency key de-duplicates) each appears exactly once. Delivery to the provider is
at-least-once, but the send journal narrows the window to the one message in flight: what the
provider accepted after the last commit before the kill is recorded from the journal on
restart, not sent again; the test measures the duplicates and checks that bound.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db import ConsentRow, CustomerRow, Database, MessageRow, OutcomeRow
from core.settings import Settings
from tests.support.servers import SMTPSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""Monday 15:00 UTC: 10:00 in New York (the sample brand's default zone), outside quiet hours."""
REPO = Path(__file__).resolve().parents[2]
COMMIT_EVERY = 5
LEASE_S = 2.0


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def _seed(db: Database, n: int) -> set[str]:
    with db.session() as s:
        for i in range(n):
            cid = f"cus_{i:03d}"
            s.add(CustomerRow(id=cid, email=f"{cid}@example.com", traits={}))
        s.flush()
        for i in range(n):
            cid = f"cus_{i:03d}"
            s.add(ConsentRow(customer_id=cid, channel="email", granted=True, source="x", at=T0))
            s.add(
                MessageRow(
                    id=f"m_{i:03d}",
                    idempotency_key=f"cmp_1:s1:{cid}",
                    campaign_id="cmp_1",
                    step_id="s1",
                    customer_id=cid,
                    variant_id="v",
                    arm="A",
                    channel="email",
                    to_address=f"{cid}@example.com",
                    subject="Hello",
                    body="Hi,\n\nNew arrivals: https://shop.example/new\n\nFooter.",
                    scheduled_at=T0 - timedelta(minutes=5) + timedelta(seconds=i),
                    status="scheduled",
                )
            )
    return {f"m_{i:03d}" for i in range(n)}


def _worker(
    settings: Settings,
    sink: SMTPSink,
    *args: str,
    database_url: str | None = None,
    concurrency: int | None = None,
) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL")
        and not k.startswith("AUTOCMO_")
    }
    env.update(
        {
            "AUTOCMO_DATA_DIR": str(settings.data_dir),
            "AUTOCMO_SMTP_HOST": "127.0.0.1",
            "AUTOCMO_SMTP_PORT": str(sink.port),
            "AUTOCMO_DISPATCH_LEASE": str(LEASE_S),
            "AUTOCMO_DISPATCH_BATCH": "40",
            "AUTOCMO_DISPATCH_COMMIT_EVERY": str(COMMIT_EVERY),
            "AUTOCMO_DISPATCH_COMMIT_INTERVAL": "30",
            "AUTOCMO_DISPATCH_INTERVAL": "1",
            "HF_HUB_OFFLINE": "1",
            "AUTOCMO_DEV_MODE": "1",
        }
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if concurrency is not None:  # else the default
        env["AUTOCMO_DISPATCH_CONCURRENCY"] = str(concurrency)
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--as-of", T0.isoformat(), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(cond: object, timeout: float, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(cond) and cond():
            return
        if proc.poll() is not None:
            out, _ = proc.communicate(timeout=10)
            pytest.fail(f"worker exited early with {proc.returncode}:\n{out}")
        time.sleep(0.02)
    proc.kill()
    proc.communicate(timeout=10)
    pytest.fail("timed out waiting for the worker")


def _statuses(db: Database) -> dict[str, int]:
    with db.session() as s:
        rows = s.execute(select(MessageRow.status, func.count()).group_by(MessageRow.status))
        return {status: int(n) for status, n in rows}


def _sent_count(db: Database) -> int:
    return _statuses(db).get("sent", 0)


def _local_ids(sink: SMTPSink) -> dict[str, int]:
    return {mid.strip("<>").split("@")[0]: n for mid, n in sink.ids.items()}


@pytest.mark.parametrize("concurrency", [1, 8])
def test_kill_9_mid_batch_then_restart_delivers_every_message_once(
    settings: Settings, db: Database, smtp_sink: SMTPSink, concurrency: int
) -> None:
    expected = _seed(db, 120)
    smtp_sink.delay_s = 0.03  # ~30 messages per second: the kill lands mid-batch

    proc = _worker(settings, smtp_sink, "--once", concurrency=concurrency)
    # Wait until at least one result group is committed and several more have been accepted
    # since (without the journal, each of those would be sent again).
    _wait_for(
        lambda: (
            _sent_count(db) >= 2 * COMMIT_EVERY and len(smtp_sink.messages) >= _sent_count(db) + 3
        ),
        timeout=60,
        proc=proc,
    )
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    at_kill = _statuses(db)
    time.sleep(LEASE_S + 0.5)  # the dead worker's claim expires (and the sink settles)
    received_at_kill = len(smtp_sink.messages)
    # Mid-batch for real: some sent, some held by the dead worker, accepted but unrecorded ones.
    assert at_kill.get("sending", 0) > 0, at_kill
    assert 0 < at_kill["sent"] < received_at_kill < len(expected)
    assert received_at_kill - at_kill["sent"] >= 3  # accepted but not committed at the kill

    smtp_sink.delay_s = 0.0
    restart = _worker(settings, smtp_sink, "--once")
    out, _ = restart.communicate(timeout=120)
    assert restart.returncode == 0, out

    assert _statuses(db) == {"sent": len(expected)}
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected  # nothing lost
    # What the provider accepted before the kill is recorded from the journal, not re-sent:
    # at most the messages in flight (one per concurrent send) are sent again (with the same
    # Message-ID).
    duplicates = sum(n - 1 for n in ids.values())
    uncommitted = received_at_kill - at_kill["sent"]
    print(
        f"concurrency {concurrency}: duplicates after kill -9: {duplicates} "
        f"(accepted, uncommitted: {uncommitted})"
    )
    assert duplicates <= concurrency
    assert "send journal" in out
    # ... so a receiver that de-duplicates by Message-ID / idempotency key sees each once.
    assert len(ids) == len(expected)
    with db.session() as s:
        delivered = s.scalar(
            select(func.count()).select_from(OutcomeRow).where(OutcomeRow.kind == "delivered")
        )
        attempts = s.scalars(select(MessageRow.attempts)).all()
    assert delivered == len(expected)
    assert set(attempts) <= {1, 2}  # the re-sent ones count their second attempt


def test_sigterm_finishes_the_message_in_flight_and_hands_back_the_rest(
    settings: Settings, db: Database, smtp_sink: SMTPSink
) -> None:
    expected = _seed(db, 80)
    smtp_sink.delay_s = 0.05

    proc = _worker(settings, smtp_sink)  # continuous mode
    _wait_for(lambda: len(smtp_sink.messages) >= 8, timeout=60, proc=proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "worker: stopped" in out

    statuses = _statuses(db)
    assert "sending" not in statuses  # nothing left claimed
    ids = _local_ids(smtp_sink)
    assert statuses["sent"] == len(ids) and set(ids.values()) == {1}  # every send recorded
    assert statuses.get("scheduled", 0) > 0  # handed back, untried
    with db.session() as s:
        back = s.scalars(select(MessageRow).where(MessageRow.status == "scheduled")).all()
        assert all(r.attempts == 0 and r.claimed_by is None for r in back)

    smtp_sink.delay_s = 0.0
    again = _worker(settings, smtp_sink, "--once")
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    assert _statuses(db) == {"sent": len(expected)}
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected and set(ids.values()) == {1}  # exactly once, no de-duplication


def test_worker_survives_a_terminated_postgres_connection(
    settings: Settings, smtp_sink: SMTPSink, pg_url: str
) -> None:
    psycopg = pytest.importorskip("psycopg")
    db = Database(pg_url)
    db.migrate()
    expected = _seed(db, 60)
    smtp_sink.delay_s = 0.02
    proc = _worker(settings, smtp_sink, database_url=pg_url)  # continuous mode
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        _wait_for(lambda: len(smtp_sink.messages) >= 8, timeout=60, proc=proc)
        # Block the worker on a table lock, then kill its connection while it waits.
        with psycopg.connect(dsn) as locker, psycopg.connect(dsn, autocommit=True) as admin:
            locker.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
            waiting: list[int] = []

            def _blocked() -> bool:
                waiting[:] = [
                    r[0]
                    for r in admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> %s",
                        (locker.info.backend_pid,),
                    )
                ]
                return bool(waiting)

            _wait_for(_blocked, timeout=30, proc=proc)
            for pid in waiting:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            locker.rollback()
        _wait_for(lambda: _sent_count(db) == len(expected), timeout=90, proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        db.dispose()
    assert proc.returncode == 0, out
    assert "database unavailable" in out
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected
    assert sum(n - 1 for n in ids.values()) <= 1  # the journal recorded what was accepted


def test_worker_survives_a_locked_sqlite_database(
    settings: Settings, db: Database, smtp_sink: SMTPSink
) -> None:
    expected = _seed(db, 30)
    smtp_sink.delay_s = 0.05
    # A busy timeout of 0.5 s (instead of 30) so the lock surfaces quickly.
    proc = _worker(settings, smtp_sink, database_url=f"{settings.db_url}?timeout=0.5")
    lines: list[str] = []

    def _read() -> None:
        assert proc.stdout is not None
        with proc.stdout as stream:
            for line in stream:
                lines.append(line)

    def _locked_retries() -> int:
        return sum(
            ln.startswith("worker: database unavailable") and "locked" in ln for ln in list(lines)
        )

    reader = threading.Thread(target=_read, daemon=True)
    reader.start()
    try:
        _wait_for(lambda: len(smtp_sink.messages) >= 5, timeout=60, proc=proc)
        locker = sqlite3.connect(settings.data_dir / "autocmo.db", isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")  # in WAL mode: every writer gets "locked"
            # It backs off and tries again (1st wait 2 s, then 4 s), still locked, still alive.
            _wait_for(lambda: _locked_retries() >= 2, timeout=15, proc=proc)
            assert proc.poll() is None
            assert _sent_count(db) < len(expected)
        finally:
            locker.close()  # rolls back: the lock is released
        _wait_for(lambda: _sent_count(db) == len(expected), timeout=30, proc=proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "worker: stopped" in out
    ids = _local_ids(smtp_sink)
    assert set(ids) == expected and set(ids.values()) == {1}, out  # each sent exactly once
