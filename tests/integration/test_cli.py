"""The `autocmo` CLI in new processes: import (all or nothing) and the brief conversation."""

from __future__ import annotations

import json
from pathlib import Path

from core.db import CustomerRow, Database
from core.settings import Settings
from tests.integration.conftest import run_cli

GOOD = """id,email,first_name,timezone,country,email_consent,email_consent_at
c1,ana@example.com,Ana,Europe/Berlin,DE,yes,2026-01-01T00:00:00Z
c2,bo@example.com,Bo,America/Chicago,US,no,2026-01-01T00:00:00Z
"""
BAD = GOOD + "c3,not-an-email,Cy,Mars/Olympus,US,maybe,yesterday\n"


def _customers(settings: Settings) -> int:
    db = Database(settings.db_url)
    db.migrate()
    with db.session() as s:
        n = s.query(CustomerRow).count()
    db.dispose()
    return n


def test_import_is_all_or_nothing_and_names_the_line(settings: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    out = run_cli(settings, "import", "customers", str(bad))
    assert out.returncode == 2
    assert "line 4" in out.stderr and "nothing" in out.stderr.lower()
    assert _customers(settings) == 0

    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    out = run_cli(settings, "import", "customers", str(good))
    assert out.returncode == 0, out.stderr
    assert "Imported 2 customers" in out.stdout
    assert _customers(settings) == 2

    out = run_cli(settings, "import", "orders", str(good))
    assert out.returncode == 2 and "customers, events or products" in out.stderr


def test_brief_asks_questions_then_plans(settings: Settings) -> None:
    run_cli(settings, "seed", "--customers", "600")
    nobody = run_cli(settings, "brief", "Recover abandoned carts by email")
    assert nobody.returncode == 2 and "autocmo users add mia --role" in nobody.stderr
    added = run_cli(settings, "users", "add", "mia", "--role", "marketer", stdin="long enough pw\n")
    assert added.returncode == 0 and "Added mia (marketer)" in added.stdout, added.stderr
    vague = run_cli(settings, "brief", "something nice for everyone please", "--json")
    assert vague.returncode == 0, vague.stderr
    assert json.loads(vague.stdout)["status"] == "needs_input"
    plan = run_cli(settings, "brief", "Recover abandoned carts with free shipping by email")
    assert plan.returncode == 0, plan.stderr
    assert "Waiting for approval" in plan.stdout and "autocmo approve" in plan.stdout


def test_loading_the_embedding_model_is_offline_and_quiet_whatever_the_env(
    settings: Settings,
) -> None:
    # The caller's environment asks for the Hub (at an address where nothing listens): the entry
    # point sets offline mode, the model comes from its package, and stderr stays empty.
    online = {
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",
    }
    run_cli(settings, "users", "add", "mia", "--role", "marketer", stdin="long enough pw\n")
    out = run_cli(settings, "brief", "something nice for everyone please", "--json", env=online)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "needs_input"
    assert any(settings.chroma_dir.iterdir()), "the brand rules were not embedded"
    assert "Loading weights" not in out.stderr
    assert out.stderr == ""
