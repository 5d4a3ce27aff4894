"""Fixtures for integration tests: a seeded sample world on a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.demo import seed_world
from core.db import Database
from core.settings import Settings
from core.users import create_token, create_user, get_user
from graphs.runtime import Deps, build_deps

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
"""The clock of the seeded world (a Monday)."""

WINBACK_BRIEF = (
    "Win back customers who haven't ordered in the last 3 months with 10% off, code COMEBACK10, "
    "by email, then an SMS reminder to those who haven't bought."
)


TEAM = {
    "mia": "marketer",
    "qa": "approver",
    "ana": "approver",
    "vic": "viewer",
    "root": "admin",
}
"""The people of a seeded world: name → role. `run_cli` acts as `mia` unless told otherwise."""
PASSWORD = "correct horse battery"
"""Every team member's password."""


def add_team(db: Database) -> None:
    """Create the `TEAM` users (idempotent)."""
    for name, role in TEAM.items():
        if get_user(db, name) is None:
            create_user(db, name, role, PASSWORD)


def bearer(db: Database, name: str) -> dict[str, str]:
    """Authorization headers with a new API token of a team member."""
    return {"Authorization": f"Bearer {create_token(db, name)}"}


def seeded(settings: Settings, *, customers: int = 1200, with_rules: bool = True) -> Deps:
    """A database with the sample world, its `TEAM`, and the runtime dependencies on it."""
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    seed_world(db, customers=customers, seed=3, now=NOW)
    add_team(db)
    db.dispose()
    deps = build_deps(settings, with_rules=with_rules)
    deps.clock = lambda: NOW
    return deps


@pytest.fixture
def world(settings: Settings) -> Iterator[Deps]:
    """A seeded world with the brand rules indexed in Chroma."""
    deps = seeded(settings)
    yield deps
    deps.db.dispose()


def run_cli(
    settings: Settings,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `autocmo …` in a new process on the same data directory, as user `mia` (add the
    team with `add_team` when the database is not a `seeded` one), in development mode (the
    built-in secret key is allowed: pass `AUTOCMO_DEV_MODE=0` in `env` to test the refusal)."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL")
    }
    full_env.update(
        {
            "AUTOCMO_DATA_DIR": str(settings.data_dir),
            "HF_HUB_OFFLINE": "1",
            "AUTOCMO_USER": "mia",
            # the tests sign with the built-in key, like the in-process `settings`
            "AUTOCMO_DEV_MODE": "1",
        }
    )
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=full_env,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
    )
