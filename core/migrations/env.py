"""Alembic environment: runs on the connection `Database.migrate()` passes in, or on the URL of
`alembic.ini` / `DATABASE_URL` when Alembic's own CLI is used."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from core.db import Base

_config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things: copy-and-move per table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = _config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    _url = os.environ.get("DATABASE_URL") or _config.get_main_option("sqlalchemy.url")
    if not _url:
        raise SystemExit("Set DATABASE_URL (or sqlalchemy.url in alembic.ini) to migrate.")
    _engine = create_engine(_url)
    with _engine.begin() as _conn:
        _run(_conn)
    _engine.dispose()
