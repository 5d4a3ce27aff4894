"""`autocmo worker`: scheduled autonomous runs: dispatch due messages, optimize campaigns."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.settings import Settings
from graphs.runner import active_campaigns, dispatch_due, optimize
from graphs.runtime import build_deps


def run_worker(
    settings: Settings,
    *,
    once: bool,
    as_of: datetime | None,
    echo: Callable[[str], None] = print,
) -> None:
    """Dispatch every `worker_dispatch_interval_s`, optimize every `worker_optimize_interval_s`.

    SIGTERM or SIGINT stops the loop after the current cycle.
    """
    deps = build_deps(settings, with_rules=False)
    stop = {"now": False}

    def _on_term(signum: int, _frame: Any) -> None:
        stop["now"] = True
        echo("worker: stopping after the current cycle…")

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    last_opt = 0.0
    while True:
        now = as_of or datetime.now(UTC)
        stats = dispatch_due(deps, as_of=now)
        echo(f"[{now:%Y-%m-%d %H:%M:%S}] dispatch: {stats.model_dump()}")
        if once or time.monotonic() - last_opt >= settings.worker_optimize_interval_s:
            for cid in active_campaigns(deps):
                out = optimize(deps, cid, as_of=now)
                for o in out.get("outcomes", []):
                    echo(f"  optimizer {cid}: {o['status']} — {o['description']}")
            last_opt = time.monotonic()
        if once or stop["now"]:
            break
        deadline = time.monotonic() + settings.worker_dispatch_interval_s
        while time.monotonic() < deadline and not stop["now"]:
            time.sleep(0.5)
        if stop["now"]:
            break
    deps.db.dispose()
