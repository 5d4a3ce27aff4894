"""`autocmo worker --queue`: the scale path. Work is split into jobs of a distributed job queue
(procrastinate, on the PostgreSQL that holds the outbox) that any number of worker processes on
any number of hosts take.

Jobs (queue `autocmo`):
- `autocmo.sweep` (periodic, `queue_sweep_cron`; one per tick across all workers): starts due
  recurring runs and triggered journeys, counts the due outbox rows and queues
  `ceil(due / dispatch_batch_size)` dispatch jobs, at most `queue_fanout`.
- `autocmo.dispatch` (slot k): claims and sends one batch through the dispatcher (same claims,
  checks, journal and guarantees as `autocmo worker`); if its batch was full, queues its
  successor in the same slot. A slot's queueing lock keeps at most one job per slot waiting,
  so sweeps never pile jobs up.
- `autocmo.activate` (campaign, chunk): writes the outbox of one chunk of a large launch's
  treated people (`agents.activation_jobs`; queued by the approval with
  `AUTOCMO_QUEUE_ACTIVATION`); the last one done makes the campaign active. A failure is
  retried by procrastinate's retry strategy (`queue_activation_attempts` tries, waits
  doubling from 2 s), then left `failed` in the campaign report. The sweep re-queues a chunk
  no attempt has started and no job waits for (e.g. the approving process died in between).
- `autocmo.retry_stalled` (periodic, `queue_sweep_cron`): procrastinate's recovery of stalled
  jobs: a job still `doing` whose worker sent no heartbeat for `queue_stalled_after_s` (killed,
  host lost) is put back to `todo` and taken again. A stalled dispatch job whose slot has
  another job waiting is marked failed instead (the waiting one does its work).
- `autocmo.optimize` (periodic, hourly): completes campaigns whose window closed, optimizes
  the others.

The outbox stays the source of truth: a job names no message, it claims due rows with the
dispatcher's lease. A job that is lost (its worker killed, the job deleted) loses nothing: its
claimed rows lapse after `dispatch_lease_s` and the next sweep queues jobs for every due row.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agents.activation_jobs import run_activation_job
from api.worker import complete_and_optimize, run_journeys
from core import activation_jobs
from core.models import Channel
from core.settings import Settings
from graphs.runtime import Deps, build_deps
from tools.delivery.channels.base import ChannelAdapter
from tools.delivery.channels.registry import build_adapters, close_adapters
from tools.delivery.dispatch import Dispatcher, count_due
from tools.jobqueue import ACTIVATE, QUEUE, conninfo, defer_activation, install_schema

if TYPE_CHECKING:
    import procrastinate


@dataclass
class _Runtime:
    """What a worker process's jobs share: dependencies and channel adapters (thread-safe,
    so concurrent jobs reuse the same SMTP and HTTP connections)."""

    settings: Settings
    as_of: datetime | None
    echo: Callable[[str], None]
    deps: Deps | None = None
    adapters: dict[Channel, ChannelAdapter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> Deps:
        """The shared dependencies, built by the first job (jobs run on several threads)."""
        with self._lock:
            if self.deps is None:
                self.deps = build_deps(self.settings, with_rules=False)
                self.adapters = build_adapters(self.deps.settings)
            return self.deps

    def close(self) -> None:
        close_adapters(self.adapters)
        if self.deps is not None:
            self.deps.db.dispose()

    def now(self) -> datetime:
        return self.as_of or datetime.now(UTC)


def build_queue_app(
    settings: Settings, *, as_of: datetime | None = None, echo: Callable[[str], None] = print
) -> tuple[procrastinate.App, _Runtime]:
    """The procrastinate app with autocmo's jobs, and the runtime its jobs share."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(settings), min_size=1, max_size=settings.queue_concurrency + 3
        )
    )
    runtime = _Runtime(settings, as_of, echo)
    _register(app, runtime)
    return app, runtime


def _register(app: procrastinate.App, rt: _Runtime) -> None:
    import procrastinate

    settings = rt.settings

    def _queue_dispatch(slot: int, as_of: datetime | None) -> bool:
        """Queue the dispatch job of `slot` unless one is already waiting there."""
        try:
            dispatch.configure(queueing_lock=f"{QUEUE}.dispatch.{slot}").defer(
                slot=slot, as_of=None if as_of is None else as_of.isoformat()
            )
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        return True

    @app.periodic(cron=settings.queue_sweep_cron, periodic_id="sweep")
    @app.task(name=f"{QUEUE}.sweep", queue=QUEUE, queueing_lock=f"{QUEUE}.sweep")
    def sweep(timestamp: int) -> int:
        deps = rt.open()
        now = rt.now()
        run_journeys(deps, now, rt.echo)
        due = count_due(deps.db, deps.settings, as_of=now)
        jobs = min(math.ceil(due / deps.settings.dispatch_batch_size), settings.queue_fanout)
        queued = sum(_queue_dispatch(slot, rt.as_of) for slot in range(jobs))
        rt.echo(f"[{now:%Y-%m-%d %H:%M:%S}] sweep: {due} due, {queued} dispatch jobs queued")
        lost: dict[str, list[int]] = {}
        for cid, chunk in activation_jobs.queued_jobs(deps.db):
            lost.setdefault(cid, []).append(chunk)
        requeued = sum(defer_activation(app, cid, chunks) for cid, chunks in lost.items())
        if requeued:
            rt.echo(f"sweep: {requeued} activation jobs queued again (none was waiting)")
        return queued

    @app.task(name=f"{QUEUE}.dispatch", queue=QUEUE, pass_context=True)
    def dispatch(context: procrastinate.JobContext, slot: int, as_of: str | None) -> dict[str, Any]:
        deps = rt.open()
        job_id = context.job.id if context.job is not None else 0
        dispatcher = Dispatcher(
            deps.db,
            rt.adapters,
            deps.dispatch_policy(),
            deps.settings,
            worker_id=f"{socket.gethostname()[:20]}:{os.getpid()}:j{job_id}",
            batch_size=deps.settings.dispatch_batch_size,
        )
        when = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
        stats = dispatcher.run_once(as_of=when, max_batches=1)
        if stats.claimed >= deps.settings.dispatch_batch_size:  # a full batch: more is due
            _queue_dispatch(slot, rt.as_of)
        rt.echo(f"dispatch job {job_id} (slot {slot}): {stats.model_dump()}")
        return stats.model_dump()

    tries = settings.queue_activation_attempts
    retry = procrastinate.RetryStrategy(max_attempts=tries - 1, exponential_wait=2)

    @app.task(
        name=ACTIVATE,
        queue=QUEUE,
        pass_context=True,
        retry=retry if tries > 1 else False,  # RetryStrategy(max_attempts=0) retries forever
    )
    def activate(context: procrastinate.JobContext, campaign_id: str, chunk: int) -> int:
        deps = rt.open()
        attempt = (context.job.attempts if context.job is not None else 0) + 1
        report = run_activation_job(
            deps.db, deps.settings, deps.kit, campaign_id, chunk, last_attempt=attempt >= tries
        )
        scheduled = report.scheduled if report is not None else 0
        rt.echo(f"activation job {campaign_id} #{chunk} (try {attempt}): {scheduled} scheduled")
        return scheduled

    @app.periodic(cron=settings.queue_sweep_cron, periodic_id="retry_stalled")
    @app.task(name=f"{QUEUE}.retry_stalled", queue=QUEUE, queueing_lock=f"{QUEUE}.retry_stalled")
    async def retry_stalled(timestamp: int) -> int:
        manager = app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=settings.queue_stalled_after_s
        )
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
            except procrastinate.exceptions.UniqueViolation:  # its queueing lock is taken
                await manager.finish_job(
                    job, status=procrastinate.jobs.Status.FAILED, delete_job=False
                )
            except procrastinate.exceptions.ConnectorException:
                continue  # it finished (or was retried) meanwhile
            else:
                retried += 1
                rt.echo(f"stalled job {job.id} ({job.task_name}) of a lost worker: retried")
        return retried

    @app.periodic(cron="0 * * * *", periodic_id="optimize")
    @app.task(name=f"{QUEUE}.optimize", queue=QUEUE, queueing_lock=f"{QUEUE}.optimize")
    def optimize(timestamp: int) -> None:
        complete_and_optimize(rt.open(), rt.now(), rt.echo)


def run_queue_worker(
    settings: Settings,
    *,
    as_of: datetime | None,
    echo: Callable[[str], None] = print,
) -> None:
    """Take jobs from the queue until SIGTERM / SIGINT (the jobs running then finish).

    Installs the queue's tables on first use and queues a sweep at once (unless one is
    already waiting), so due messages go out without waiting for the first tick.
    """
    import procrastinate

    if install_schema(settings):
        echo("worker: installed the job queue's tables (procrastinate)")
    app, runtime = build_queue_app(settings, as_of=as_of, echo=echo)
    name = f"{socket.gethostname()[:20]}:{os.getpid()}"
    try:
        with app.open(), contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
            app.tasks[f"{QUEUE}.sweep"].defer(timestamp=0)
        echo(f"worker {name}: taking jobs from queue {QUEUE!r} (procrastinate)")
        app.run_worker(
            queues=[QUEUE],
            concurrency=settings.queue_concurrency,
            name=name,
            delete_jobs="successful",
            update_heartbeat_interval=min(10.0, settings.queue_stalled_after_s / 3),
            stalled_worker_timeout=settings.queue_stalled_after_s,
        )
    finally:
        runtime.close()
    echo("worker: stopped")
