"""`autocmo worker`: scheduled autonomous runs: dispatch due messages, optimize campaigns."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from agents.journeys import run_recurring, scan_trigger
from agents.reporting import complete_if_closed
from core.campaigns import campaign_ids_with_status
from core.db import DATABASE_UNAVAILABLE, Database
from core.models import CampaignStatus
from core.settings import Settings
from graphs.operations import optimize
from graphs.runtime import Deps, build_deps
from tools.delivery.dispatch import dispatch_due

_log = logging.getLogger(__name__)
_DB_BACKOFF_MAX_S = 60.0
"""Longest wait between attempts while the database is unavailable."""


def run_worker(
    settings: Settings,
    *,
    once: bool,
    as_of: datetime | None,
    echo: Callable[[str], None] = print,
) -> None:
    """Start the due runs of recurring campaigns, enter people into triggered journeys from the
    events since the last scan, and dispatch every `worker_dispatch_interval_s`;
    every `worker_optimize_interval_s`, complete
    the active campaigns whose measurement window has closed and optimize the others.

    SIGTERM or SIGINT stops it cleanly: the message being sent finishes, results are committed,
    the rest of the claimed batch goes back to `scheduled`, and the process exits. (After a
    kill -9 the claim expires after `dispatch_lease_s` and another worker takes it over.)

    A database that is locked (SQLite) or unreachable (a lost PostgreSQL connection) does not
    stop the worker: it logs, waits (doubling from `worker_dispatch_interval_s` up to a minute)
    and tries again; what it sent meanwhile is in its send journal and is recorded then.
    """
    deps = build_deps(settings, with_rules=False)
    stop = {"now": False}

    def _on_term(signum: int, _frame: Any) -> None:
        stop["now"] = True
        echo("worker: stopping: finishing the message in flight, handing back the rest…")

    def _stopping() -> bool:
        return stop["now"]

    previous = {sig: signal.signal(sig, _on_term) for sig in (signal.SIGTERM, signal.SIGINT)}
    last_opt: float | None = None
    wait_s = settings.worker_dispatch_interval_s
    try:
        while not stop["now"]:
            now = as_of or datetime.now(UTC)
            try:
                run_journeys(deps, now, echo)
                stats = dispatch_due(
                    deps.db,
                    deps.settings,
                    deps.dispatch_policy(),
                    as_of=now,
                    should_stop=_stopping,
                )
                echo(f"[{now:%Y-%m-%d %H:%M:%S}] dispatch: {stats.model_dump()}")
                if stop["now"]:
                    break
                due = last_opt is None or (
                    time.monotonic() - last_opt >= settings.worker_optimize_interval_s
                )
                if once or due:
                    complete_and_optimize(deps, now, echo)
                    last_opt = time.monotonic()
                wait_s = settings.worker_dispatch_interval_s
            except DATABASE_UNAVAILABLE as exc:
                if once:
                    raise
                wait_s = _database_unavailable(deps.db, exc, wait_s, echo)
            if once:
                break
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and not stop["now"]:
                time.sleep(0.2)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        deps.db.dispose()
    echo("worker: stopped")


def run_journeys(deps: Deps, now: datetime, echo: Callable[[str], None]) -> None:
    """Start the due runs of recurring campaigns and enter people into triggered journeys."""
    for cid in campaign_ids_with_status(deps.db, CampaignStatus.ACTIVE):
        run = run_recurring(deps.db, deps.settings, deps.kit, cid, as_of=now)
        if run is not None:
            echo(f"  {cid}: recurring run started, {run.scheduled} messages scheduled")
        entered = scan_trigger(deps.db, deps.settings, deps.kit, cid, as_of=now)
        if entered:
            echo(f"  {cid}: {len(entered)} people entered the journey")


def complete_and_optimize(deps: Deps, now: datetime, echo: Callable[[str], None]) -> None:
    """Complete the active campaigns whose measurement window has closed; optimize the others."""
    for cid in campaign_ids_with_status(deps.db, CampaignStatus.ACTIVE):
        window = deps.kit.measurement_window_days
        if complete_if_closed(deps.db, cid, window_days=window, as_of=now):
            echo(f"  {cid}: completed (measurement window closed); report stored")
            continue
        out = optimize(deps, cid, as_of=now)
        for o in out.outcomes:
            echo(f"  optimizer {cid}: {o.status} — {o.description}")


def _database_unavailable(
    db: Database, exc: Exception, waited_s: float, echo: Callable[[str], None]
) -> float:
    """Log a lost or locked database, drop pooled connections; the next wait (doubled)."""
    db.dispose()  # a terminated connection must not be handed out again
    wait_s = min(max(waited_s, 0.5) * 2, _DB_BACKOFF_MAX_S)
    reason = str(getattr(exc, "orig", exc) or type(exc).__name__).strip().splitlines()[0]
    _log.warning("database unavailable (%s); retrying in %.1fs", reason, wait_s)
    echo(f"worker: database unavailable ({reason}); retrying in {wait_s:.1f}s")
    return wait_s
