"""The distributed job queue (procrastinate, on the PostgreSQL that holds the outbox): where
it lives, its tables, and queueing activation jobs. The jobs themselves and the workers that
take them are in `api/queue.py` (`autocmo worker --queue`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.settings import Settings

if TYPE_CHECKING:
    import procrastinate

QUEUE = "autocmo"
"""The procrastinate queue autocmo's jobs go to."""
ACTIVATE = f"{QUEUE}.activate"
"""The task name of an activation job (one campaign, one chunk of its treated people)."""
_SCHEMA_LOCK = 0x6175746F636D6F  # "autocmo": serializes schema installs of starting workers


class QueueNeedsPostgres(ValueError):
    """The job queue was asked for on a database other than PostgreSQL."""


def conninfo(settings: Settings) -> str:
    """The libpq connection string of the settings' PostgreSQL database."""
    url = settings.db_url
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise QueueNeedsPostgres(
            "the job queue (--queue, AUTOCMO_QUEUE_ACTIVATION) needs PostgreSQL: set "
            "DATABASE_URL=postgresql+psycopg://user@host:5432/db; on SQLite run `autocmo worker` "
            "without --queue and leave AUTOCMO_QUEUE_ACTIVATION unset"
        )
    return f"postgresql://{rest}"


def install_schema(settings: Settings) -> bool:
    """Install procrastinate's tables in the database unless they are there; True if it did.
    Safe when several processes start at once (an advisory lock serializes them)."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo(settings)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        conn.execute(SchemaManager.get_schema())
    return True


def activation_lock(campaign_id: str, chunk: int) -> str:
    """The queueing lock of an activation job: at most one waiting per campaign and chunk."""
    return f"{ACTIVATE}.{campaign_id}.{chunk}"


def defer_activation(app: procrastinate.App, campaign_id: str, chunks: Iterable[int]) -> int:
    """Queue the activation jobs of `chunks` on an open app, except those already waiting;
    returns how many it queued."""
    import procrastinate

    queued = 0
    for chunk in chunks:
        try:
            app.configure_task(
                ACTIVATE, queue=QUEUE, queueing_lock=activation_lock(campaign_id, chunk)
            ).defer(campaign_id=campaign_id, chunk=chunk)
        except procrastinate.exceptions.AlreadyEnqueued:
            continue
        queued += 1
    return queued


def queue_activation_jobs(settings: Settings, campaign_id: str, chunks: Iterable[int]) -> int:
    """Queue a campaign's activation jobs from any process (the one that approved the launch);
    installs the queue's tables on first use. Returns how many it queued."""
    import procrastinate

    install_schema(settings)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(settings), min_size=1, max_size=1
        )
    )
    with app.open():
        return defer_activation(app, campaign_id, chunks)
