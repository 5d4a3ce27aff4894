"""Benchmark: plan → render → check → schedule for a large audience on the offline engine.

    python bench/campaign.py --customers 100000
    python bench/campaign.py --recipients 1000000          # ~1M outbox rows, peak memory
    python bench/campaign.py --customers 20000 --database-url postgresql+psycopg://…/db

The campaign (brief to outbox) runs in a child process, so its peak memory (`ru_maxrss`) is its
own and not the seeding's. Afterwards, for the same rows, the floor: a plain Jinja2 render of the
same template plus the same insert of the same rows through the same outbox writer into an
empty outbox (a second database of the same kind, as the campaign's own outbox started empty),
with nothing else (no features, no consent, no guardrails, no scheduling). Figures are
wall-clock on a shared machine, so the CPU seconds of each side are printed too. The last line is
`recipients_per_s=… floor_per_s=… ratio=… peak_mb=…` (ratio = floor / recipients, lower is
better; recipients are outbox rows, one per treated person and journey step).

`--recipients N` seeds a sample world and clones it (customers, consent and their events, with
new ids) until the campaign writes about N outbox rows: the cloned people behave like the
originals, which is optimistic about variety (names, products) but not about volume.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import queue
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, make_url, select, text

from api.demo import seed_world
from core.db import CustomerRow, Database, MessageRow
from core.messages import write_outbox
from core.settings import Settings, set_process_environment

BRIEF = "Weekend promotion by email for all customers: 10% off with code WEEKEND10."
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


_SHARE = 0.7
"""Outbox rows per seeded customer of the sample world for BRIEF (measured: 13,990 rows from
20,000 customers), used to size `--recipients`."""
_CHUNK = 2000


def _clone_world(db: Database, copies: int) -> None:
    """Add `copies` copies of every customer with their consent and events, under new ids
    (`<id>~<k>`), each table in one pass over its original rows."""
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE bench_copies (k VARCHAR(8))"))
        conn.execute(
            text("INSERT INTO bench_copies (k) VALUES (:k)"),
            [{"k": f"~{k}"} for k in range(1, copies + 1)],
        )
        conn.execute(
            text(
                "INSERT INTO customers (id, email, phone, first_name, last_name, timezone, "
                "locale, country, traits, created_at) SELECT c.id || n.k, "
                "CASE WHEN c.email IS NULL THEN NULL ELSE n.k || '.' || c.email END, c.phone, "
                "c.first_name, c.last_name, c.timezone, c.locale, c.country, c.traits, "
                "c.created_at FROM customers c CROSS JOIN bench_copies n"
            )
        )
        conn.execute(
            text(
                "INSERT INTO consents (customer_id, channel, granted, source, at) "
                "SELECT c.customer_id || n.k, c.channel, c.granted, c.source, c.at "
                "FROM consents c CROSS JOIN bench_copies n"
            )
        )
        conn.execute(
            text(
                "INSERT INTO events (message_id, type, user_id, event, properties, traits, "
                "timestamp) SELECT e.message_id || n.k, e.type, e.user_id || n.k, e.event, "
                "e.properties, e.traits, e.timestamp FROM events e CROSS JOIN bench_copies n"
            )
        )
        conn.execute(text("DROP TABLE bench_copies"))


def _campaign(db_url: str, data_dir: str, out: Any, profile: str | None = None) -> None:
    """Child process: brief → approval → outbox; sends back timings and peak memory (and, with
    `profile`, writes cProfile statistics of the campaign to that file)."""
    set_process_environment()
    from graphs.operations import decide, submit_brief
    from graphs.runtime import build_deps

    settings = Settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        _env_file=None,  # type: ignore[call-arg]
        openai_api_key=None,
    )
    deps = build_deps(settings)
    deps.clock = lambda: NOW
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    res = submit_brief(deps, BRIEF, now=NOW)
    t1, c1 = time.perf_counter(), time.process_time()
    assert res.approval_id, res
    decide(deps, res.approval_id, approved=True, decided_by="bench")
    t2, c2 = time.perf_counter(), time.process_time()
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    out.put(
        {
            "campaign_id": res.campaign_id,
            "audience": res.audience_size,
            "holdout": res.holdout_size,
            "plan_s": t1 - t0,
            "activate_s": t2 - t1,
            "plan_cpu": c1 - c0,
            "activate_cpu": c2 - c1,
            "base_mb": base_mb,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
    deps.db.dispose()


@contextmanager
def _empty_twin(db_url: str, tmp: str) -> Iterator[Database]:
    """An empty database of the same kind at head, for the floor's writes: the campaign wrote
    into an outbox that grew from empty, so the floor does too (written after the campaign's
    rows in the same table, its inserts slowed ~2.5× at a million rows, flattering the ratio).
    SQLite: a second file; PostgreSQL: a second database on the same server, dropped after."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        twin = Database(f"sqlite:///{Path(tmp) / 'floor.db'}")
        twin.migrate()
        yield twin
        twin.dispose()
        return
    name = f"{url.database}_floor"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    twin = Database(url.set(database=name).render_as_string(hide_password=False))
    try:
        twin.migrate()
        yield twin
    finally:
        twin.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _floor(db: Database, twin: Database, campaign_id: str) -> tuple[int, float, float]:
    """Render the campaign's first template with plain Jinja2 for each of its rows and write the
    same rows again through the same outbox writer into `twin` (an empty database of the same
    kind, see `_empty_twin`), `_CHUNK` at a time.

    Returns (rows, wall seconds, CPU seconds); reading the rows back is not timed."""
    from jinja2 import Environment

    with db.session() as s:
        template_src = (
            s.scalar(select(MessageRow.body).where(MessageRow.campaign_id == campaign_id).limit(1))
            or ""
        )
    tmpl = Environment(autoescape=False).from_string(
        "Hi {{ first_name }}, " + template_src[:400] + " {{ product_name }} {{ url }}"
    )
    columns = [c for c in MessageRow.__table__.c]
    n, wall, cpu, last = 0, 0.0, 0.0, ""
    while True:
        with db.session() as s:
            page = [
                dict(r._mapping)
                for r in s.execute(
                    select(*columns)
                    .where(MessageRow.campaign_id == campaign_id, MessageRow.id > last)
                    .order_by(MessageRow.id)
                    .limit(_CHUNK)
                )
            ]
        if not page:
            return n, wall, cpu
        last = page[-1]["id"]
        t, c = time.perf_counter(), time.process_time()
        rows = []
        for row in page:
            body = tmpl.render(
                first_name="Alex",
                product_name="Trailhead Pack",
                url="https://northwind.example/p/1",
            )
            rows.append(
                {
                    **row,
                    "id": f"floor_{row['id']}",
                    "idempotency_key": f"floor:{row['idempotency_key']}",
                    "campaign_id": "floor",
                    "body": body,
                }
            )
        write_outbox(twin, rows, [])
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        n += len(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    set_process_environment()
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument(
        "--recipients",
        type=int,
        default=None,
        help="seed --customers (at most 20,000 then) and clone them to reach about this many rows",
    )
    ap.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--profile",
        default=None,
        metavar="FILE",
        help="write cProfile statistics of the campaign process to FILE (timings then include "
        "the profiler's overhead)",
    )
    args = ap.parse_args(argv)
    customers, copies = args.customers, 0
    if args.recipients:
        customers = min(customers, 20_000)
        copies = max(0, round(args.recipients / (_SHARE * customers)) - 1)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            database_url=args.database_url,
            _env_file=None,  # type: ignore[call-arg]
            openai_api_key=None,
        )
        settings.ensure_dirs()
        db = Database(settings.db_url)
        db.migrate()
        t = time.perf_counter()
        seed_world(db, customers=customers, seed=args.seed, now=NOW)
        if copies:
            _clone_world(db, copies)
        with db.session() as s:
            total = s.scalar(select(func.count()).select_from(CustomerRow))
        print(
            f"seed_world: {total} customers ({customers} seeded, {copies} clones) in "
            f"{time.perf_counter() - t:.1f}s (not part of the figure)"
        )

        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=_campaign, args=(settings.db_url, tmp, out, args.profile))
        child.start()
        while True:
            try:
                got = out.get(timeout=5)
                break
            except queue.Empty:  # keep waiting while the child lives
                if not child.is_alive():
                    raise SystemExit(
                        f"the campaign process died (exit code {child.exitcode})"
                    ) from None
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"the campaign process failed (exit code {child.exitcode})")

        cid = got["campaign_id"]
        with db.session() as s:
            scheduled = int(
                s.scalar(
                    select(func.count()).where(
                        MessageRow.campaign_id == cid, MessageRow.status == "scheduled"
                    )
                )
                or 0
            )
            written = int(s.scalar(select(func.count()).where(MessageRow.campaign_id == cid)) or 0)
        print(
            f"audience={got['audience']} holdout={got['holdout']} outbox_rows={written} "
            f"scheduled={scheduled}"
        )
        print(
            f"plan+content+guardrails: {got['plan_s']:.1f}s ({got['plan_cpu']:.1f}s CPU); "
            f"render+check+schedule: {got['activate_s']:.1f}s ({got['activate_cpu']:.1f}s CPU)"
        )
        print(
            f"campaign process memory: {got['base_mb']:.0f} MB after start-up (libraries, "
            f"embedding model), peak {got['peak_mb']:.0f} MB"
        )
        with _empty_twin(settings.db_url, tmp) as twin:
            n_floor, floor_s, floor_cpu = _floor(db, twin, cid)
        wall = got["plan_s"] + got["activate_s"]
        cpu = got["plan_cpu"] + got["activate_cpu"]
        print(
            f"floor (Jinja2 render + the same insert of {n_floor} rows into an empty outbox): "
            f"{floor_s:.1f}s ({floor_cpu:.1f}s CPU)"
        )
        cpu_rate, floor_cpu_rate = written / cpu, n_floor / floor_cpu
        print(
            f"by CPU time of this machine's Python processes (not the PostgreSQL server's): "
            f"recipients_per_cpu_s={cpu_rate:.0f} floor_per_cpu_s={floor_cpu_rate:.0f} "
            f"ratio={floor_cpu_rate / cpu_rate:.1f}"
        )
        rate = written / wall
        floor_rate = n_floor / floor_s if floor_s else float("nan")
        print(
            f"recipients_per_s={rate:.0f} floor_per_s={floor_rate:.0f} "
            f"ratio={floor_rate / rate:.1f} peak_mb={got['peak_mb']:.0f}"
        )
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
