"""Shared fixtures: a Settings object on a temporary data dir, and a fresh database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import Database
from core.settings import Settings, set_process_environment

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    """Run the tests in the process environment of autocmo's entry points."""
    set_process_environment()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a temporary data dir, offline engine, file sink; ignores the caller's env."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL", "AUTOCMO_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    s = Settings(data_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
    s.ensure_dirs()
    return s


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """A fresh SQLite database file with the schema created."""
    database = Database(settings.db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def shared_data() -> Path:
    """The real data sets in ../shared/data; skips with a reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA} (it exists in CI)")
    return SHARED_DATA


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL database on 127.0.0.1:5432, dropped afterwards.

    The server is `AUTOCMO_TEST_PG_URL` (default `postgresql+psycopg://postgres@127.0.0.1:5432/
    postgres`); skips with the reason when no server answers.
    """
    psycopg = pytest.importorskip("psycopg")
    base = os.environ.get(
        "AUTOCMO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    admin_dsn = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"autocmo_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {admin_dsn}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
