"""Schema changes go through Alembic: an empty database and one made by the last release before
Alembic both reach head, and the migrations describe exactly the models."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.db import Base, Database, InvalidData, alembic_config

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

pytestmark = pytest.mark.integration


def _head(db: Database) -> str:
    with db.engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
    assert head is not None
    return head


def _version(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _schema_drift(db: Database) -> list[Any]:
    """What Alembic's autogenerate would still change to match the models (empty = none)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def _upgrade_by_migrations_only(db: Database) -> None:
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def test_every_migration_from_empty_gives_the_models_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    _upgrade_by_migrations_only(db)
    assert _version(db) == _head(db)
    assert _schema_drift(db) == []


@pytest.mark.postgres
def test_every_migration_from_empty_gives_the_models_postgres(pg_url: str) -> None:
    db = Database(pg_url)
    _upgrade_by_migrations_only(db)
    assert _version(db) == _head(db)
    assert _schema_drift(db) == []
    db.dispose()


def test_migrate_on_an_empty_database_stamps_head_and_is_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    db.migrate()
    assert _version(db) == _head(db)
    assert _schema_drift(db) == []
    db.migrate()  # every start migrates: a second run changes nothing
    assert _version(db) == _head(db)


def _pre_alembic_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript((FIXTURES / "pre_alembic_sqlite.sql").read_text())
    con.close()


def test_a_pre_alembic_sqlite_database_is_adopted_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _pre_alembic_sqlite(path)
    db = Database(f"sqlite:///{path}")
    with db.engine.connect() as conn:
        customers = conn.execute(text("SELECT count(*) FROM customers")).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    assert customers > 0 and events > 0
    assert _version(db) is None

    db.migrate()

    assert _version(db) == _head(db)
    assert _schema_drift(db) == []
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == customers
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == events


def test_an_older_database_gets_the_column_added_by_hand_before_alembic(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    _pre_alembic_sqlite(path)
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE messages DROP COLUMN propensity")
    con.close()
    db = Database(f"sqlite:///{path}")
    db.migrate()
    assert _version(db) == _head(db)
    assert _schema_drift(db) == []


def test_a_database_missing_tables_gets_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "partial.db"
    _pre_alembic_sqlite(path)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE webhook_receipts")
    con.close()
    db = Database(f"sqlite:///{path}")
    with pytest.raises(InvalidData, match=r"lacks the tables \['webhook_receipts'\]"):
        db.migrate()
    assert _version(db) is None  # nothing half-done: still unstamped


@pytest.mark.postgres
def test_a_pre_alembic_postgres_database_is_adopted(pg_url: str) -> None:
    db = Database(pg_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql((FIXTURES / "pre_alembic_postgresql.sql").read_text())
        conn.execute(text("SET search_path TO public"))
        conn.execute(
            text(
                "INSERT INTO brands (id, name, kit, kit_version, updated_at) "
                "VALUES ('b1', 'Old', '{}', 'v1', now())"
            )
        )
    assert _version(db) is None
    db.migrate()
    assert _version(db) == _head(db)
    assert _schema_drift(db) == []
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM brands")).scalar_one() == "Old"
    db.dispose()


def test_drop_all_forgets_the_stamp_so_the_next_start_recreates(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    db.drop_all()
    assert _version(db) is None
    db.migrate()
    assert _schema_drift(db) == []
