"""A recurring campaign on a real SQLite file: the launch takes the current period, the worker
starts each later period's run once, and a restarted worker never runs or sends one twice."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from api.worker import run_worker
from core.db import MessageRow
from core.models import MessageStatus
from core.runs import run_keys
from core.settings import Settings
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, run_cli, seeded

pytestmark = pytest.mark.integration

BRIEF = "Run a promotion every Monday at 9am by email: 10% off with code MONDAY10."


def _quiet(_: str) -> None:
    """Worker output is not asserted here."""


def _messages(deps: Deps, campaign_id: str) -> list[MessageRow]:
    with deps.db.session() as s:
        return list(s.scalars(select(MessageRow).where(MessageRow.campaign_id == campaign_id)))


def test_a_recurring_campaign_runs_each_period_once_across_worker_restarts(
    settings: Settings,
) -> None:
    deps = seeded(settings, customers=400, with_rules=False)
    res = submit_brief(deps, BRIEF)
    assert res.plan is not None
    rec = res.plan.objective.recurrence
    assert rec is not None and (rec.every, rec.weekday, rec.hour_local) == ("week", 0, 9)
    assert res.plan.send_hour_local == 9
    assert res.approval_id
    decide(deps, res.approval_id, approved=True, decided_by="ana")
    cid = res.campaign_id
    launch = run_keys(deps.db, cid)
    # Launched Monday 7:00 in New York: that period (from Monday 26 October) is taken, and
    # nothing is sent until the next period starts.
    assert launch == ["run-20261026T1300Z"]
    assert _messages(deps, cid) == []

    # Monday 2 November, 10:00 in New York: the first run. Two worker processes one after the
    # other (a restart), then the rest of the week: one run.
    monday = datetime(2026, 11, 2, 15, 0, tzinfo=NOW.tzinfo)
    for as_of in (monday, monday + timedelta(minutes=30)):
        out = run_cli(settings, "worker", "--once", "--as-of", as_of.isoformat())
        assert out.returncode == 0, out.stderr
    run_worker(settings, once=True, as_of=monday + timedelta(days=3), echo=_quiet)
    keys = run_keys(deps.db, cid)
    assert keys == [*launch, "run-20261102T1400Z"]
    # The next Monday, twice again.
    run_worker(settings, once=True, as_of=monday + timedelta(days=7), echo=_quiet)
    run_worker(settings, once=True, as_of=monday + timedelta(days=7, hours=1), echo=_quiet)
    keys = run_keys(deps.db, cid)
    assert keys == [*launch, "run-20261102T1400Z", "run-20261109T1400Z"]

    msgs = _messages(deps, cid)
    per_run = Counter(m.idempotency_key.split(":")[1] for m in msgs)
    assert set(per_run) == set(keys[1:])
    steps = len(res.plan.journey)
    for key in keys[1:]:  # every run: one message per treated person and step, no more
        people = {m.customer_id for m in msgs if m.idempotency_key.split(":")[1] == key}
        assert per_run[key] == len(people) * steps
    sent = [m for m in msgs if m.status == MessageStatus.SENT]
    first_steps = Counter(
        (m.idempotency_key.split(":")[1], m.customer_id) for m in sent if m.step_id == "s1"
    )
    assert len({k for k, _ in first_steps}) >= 2  # at least two runs went out
    assert max(first_steps.values()) == 1
    files = list((settings.data_dir / "sent").rglob("*.eml"))
    assert len(files) == len([m for m in sent if m.channel == "email"])
    deps.db.dispose()
