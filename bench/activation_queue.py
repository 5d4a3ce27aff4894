"""Benchmark: a launch's activation split into jobs and taken by N `autocmo worker --queue`
processes on PostgreSQL, against the approving process activating it alone.

    python bench/activation_queue.py --customers 20000 --workers 0,1,2 --job-size 2000

The sample world is seeded once into a template database; each run gets a copy of it (created
next to the database of --database-url, dropped afterwards), submits BRIEF and starts its
workers; the clock runs from the approval to the campaign being active (0 workers: the approval
activates in process, as without the queue). One line per run:
`workers=… jobs=… recipients=… seconds=… recipients_per_s=…` (recipients are outbox rows).
Worker processes compete with each other and the database for the same cores: on a machine with
fewer cores than workers, more workers cannot be faster.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from api.demo import seed_world
from core import campaigns as repo
from core.activation_jobs import list_jobs
from core.db import Database
from core.messages import status_counts
from core.models import CampaignStatus
from core.settings import Settings, set_process_environment

BRIEF = "Weekend promotion by email for all customers: 10% off with code WEEKEND10."
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-shared-by-every-host"


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _worker(url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCMO_", "OPENAI_"))}
    env.update(
        DATABASE_URL=url,
        AUTOCMO_DATA_DIR=str(data_dir),
        AUTOCMO_SECRET_KEY=SECRET,
        AUTOCMO_QUEUE_CONCURRENCY="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--queue", "--as-of", NOW.isoformat()],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _registered(url: str) -> int:
    with _admin(url) as conn:
        try:
            row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(str(row[0])) if row else 0


def _run(url: str, workers: int, job_size: int, tmp: Path) -> str:
    from graphs.operations import decide, submit_brief
    from graphs.runtime import build_deps

    settings = Settings(
        data_dir=tmp / "approver",
        database_url=url,
        secret_key=SECRET,
        queue_activation=workers > 0,
        queue_activation_job_size=job_size,
        _env_file=None,  # type: ignore[call-arg]
        openai_api_key=None,
    )
    deps = build_deps(settings, with_rules=False)
    deps.clock = lambda: NOW
    procs = [_worker(url, tmp / f"host{k}") for k in range(workers)]
    try:
        deadline = time.monotonic() + 300
        while _registered(url) < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("the queue workers did not start")
            time.sleep(0.2)
        res = submit_brief(deps, BRIEF, now=NOW)
        assert res.approval_id, res
        t0 = time.perf_counter()
        decide(deps, res.approval_id, approved=True, decided_by="bench")
        while repo.get_campaign(deps.db, res.campaign_id).status != CampaignStatus.ACTIVE:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a queue worker exited")
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        rows = sum(status_counts(deps.db, res.campaign_id).values())
        jobs = len(list_jobs(deps.db, res.campaign_id))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        deps.db.dispose()
    return (
        f"workers={workers} jobs={jobs} recipients={rows} seconds={seconds:.2f} "
        f"recipients_per_s={rows / seconds:.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    """Seed once, then one activation per worker count; prints one line each."""
    set_process_environment()
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--workers", default="0,1,2", help="worker counts, comma-separated")
    ap.add_argument("--job-size", type=int, default=2000)
    ap.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL database whose server may create and drop databases",
    )
    args = ap.parse_args(argv)
    base = args.database_url.rsplit("/", 1)[0]
    template = f"bench_aq_{uuid.uuid4().hex[:8]}"
    created = [template]
    with _admin(args.database_url) as admin:
        admin.execute(f'CREATE DATABASE "{template}"')
        try:
            db = Database(f"{base}/{template}")
            db.migrate()
            t = time.perf_counter()
            seed_world(db, customers=args.customers, seed=7, now=NOW)
            db.dispose()
            print(f"seeded {args.customers} customers in {time.perf_counter() - t:.1f} s")
            for workers in [int(w) for w in args.workers.split(",")]:
                name = f"{template}_{workers}"
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                created.append(name)
                with tempfile.TemporaryDirectory() as tmp:
                    print(_run(f"{base}/{name}", workers, args.job_size, Path(tmp)), flush=True)
        finally:
            for name in created:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
