"""A live campaign's lifecycle on a real SQLite file: pause, resume and stop (API and CLI, in the
audit trail), the journey's spacing after a worker outage, and completion when the measurement
window closes (worker, idempotent)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.worker import run_worker
from core.audit import list_decisions
from core.campaigns import get_campaign
from core.db import MessageRow
from core.lifecycle import final_report, pause_campaign, stop_campaign
from core.models import CampaignStatus, MessageStatus, SkipReason
from core.settings import Settings
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, bearer, run_cli, seeded
from tools.delivery.channels.registry import build_adapters, close_adapters
from tools.delivery.dispatch import Dispatcher, dispatch_due

pytestmark = pytest.mark.integration

GAP = timedelta(hours=72)
"""The offline win-back recipe's gap between the e-mail and the SMS reminder."""


@pytest.fixture
def launched(settings: Settings) -> Iterator[tuple[Deps, str]]:
    """A seeded world with an approved, active win-back campaign (e-mail, then SMS after 72 h)."""
    deps = seeded(settings, customers=500, with_rules=False)
    res = submit_brief(deps, WINBACK_BRIEF)
    assert res.approval_id
    decide(deps, res.approval_id, approved=True, decided_by="ana@brand.example")
    assert get_campaign(deps.db, res.campaign_id).status == CampaignStatus.ACTIVE
    yield deps, res.campaign_id
    deps.db.dispose()


def _messages(deps: Deps, campaign_id: str) -> list[MessageRow]:
    with deps.db.session() as s:
        return list(s.scalars(select(MessageRow).where(MessageRow.campaign_id == campaign_id)))


def _by_status(deps: Deps, campaign_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in _messages(deps, campaign_id):
        out[m.status] = out.get(m.status, 0) + 1
    return out


def _dispatch(deps: Deps, as_of: datetime) -> int:
    return dispatch_due(deps.db, deps.settings, deps.dispatch_policy(), as_of=as_of).sent


def test_pause_holds_resume_sends_stop_skips_and_all_are_audited(
    launched: tuple[Deps, str], settings: Settings
) -> None:
    deps, cid = launched
    scheduled = _by_status(deps, cid)[MessageStatus.SCHEDULED]
    assert scheduled > 20
    late = NOW + timedelta(days=2)  # step 1 is due for everyone, step 2 for no one

    mia, root, vic = (bearer(deps.db, n) for n in ("mia", "root", "vic"))
    with TestClient(create_app(deps=deps)) as client:
        # who acts is the login: a `by` in the body is ignored
        body = {"by": "someone-else", "reason": "wrong price in copy"}
        assert client.post(f"/api/v1/campaigns/{cid}/pause", json=body).status_code == 401
        r = client.post(f"/api/v1/campaigns/{cid}/pause", json=body, headers=vic)
        assert r.status_code == 403, r.text  # a viewer cannot pause
        r = client.post(f"/api/v1/campaigns/{cid}/pause", json=body, headers=mia)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "paused" and r.json()["previous"] == "active"
        again = client.post(f"/api/v1/campaigns/{cid}/pause", json={}, headers=mia)
        assert again.status_code == 409 and "paused" in again.json()["detail"]
        r = client.post("/api/v1/campaigns/cmp_nope/stop", json={}, headers=mia)
        assert r.status_code == 404

        # Paused: nothing goes out, nothing is lost.
        assert _dispatch(deps, late) == 0
        assert _by_status(deps, cid)[MessageStatus.SCHEDULED] == scheduled

        r = client.post(f"/api/v1/campaigns/{cid}/resume", json={"reason": "fixed"}, headers=root)
        assert r.status_code == 200 and r.json()["status"] == "active"
        sent = _dispatch(deps, late)
        assert sent > 0
        left = _by_status(deps, cid)[MessageStatus.SCHEDULED]
        assert left > 0  # the step-2 reminders

        final = client.get(f"/api/v1/campaigns/{cid}/final-report", headers=vic)
        assert final.status_code == 404 and "active" in final.json()["detail"]

    # the CLI acts as a registered user who may write, like its other decisions
    out = run_cli(settings, "stop", cid, "--by", "cy", "--reason", "brand crisis")
    assert out.returncode == 2 and "No user 'cy'" in out.stderr
    out = run_cli(settings, "stop", cid, "--by", "vic", "--reason", "brand crisis")
    assert out.returncode == 2 and "viewer" in out.stderr
    assert get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
    out = run_cli(settings, "stop", cid, "--by", "qa", "--reason", "brand crisis")
    assert out.returncode == 0, out.stderr
    assert f"{left} scheduled messages skipped" in out.stdout
    counts = _by_status(deps, cid)
    assert MessageStatus.SCHEDULED not in counts and counts[MessageStatus.SENT] == sent
    stopped = [m for m in _messages(deps, cid) if m.skip_reason == SkipReason.CAMPAIGN_STOPPED]
    assert len(stopped) == left
    assert _dispatch(deps, NOW + timedelta(days=30)) == 0

    out = run_cli(settings, "resume", cid, "--by", "qa")
    assert out.returncode == 0, out.stderr  # not paused: resumes the graph, which is done
    assert get_campaign(deps.db, cid).status == CampaignStatus.STOPPED
    out = run_cli(settings, "pause", cid, "--by", "qa")
    assert out.returncode == 2 and "stopped" in out.stderr

    trail = {d.action: d for d in list_decisions(deps.db, cid)}
    assert trail["pause_campaign"].evidence["by"] == "mia"
    assert trail["pause_campaign"].reason == "wrong price in copy"
    assert trail["resume_campaign"].evidence["by"] == "root"
    assert trail["stop_campaign"].evidence["by"] == "qa"
    assert trail["stop_campaign"].evidence["messages_skipped"] == left


@pytest.mark.parametrize("action", ["pause", "stop"])
def test_a_campaign_halted_between_claim_and_check_sends_nothing_claimed(
    launched: tuple[Deps, str], action: str
) -> None:
    deps, cid = launched
    halt = pause_campaign if action == "pause" else stop_campaign
    claimed: list[int] = []

    class _HaltedAfterClaim(Dispatcher):
        def _claim(self):  # type: ignore[no-untyped-def]
            batch = super()._claim()
            if batch and not claimed:
                claimed.append(len(batch))
                halt(deps.db, cid, by="ana", reason="race")
            return batch

    adapters = build_adapters(deps.settings)
    try:
        stats = _HaltedAfterClaim(
            deps.db, adapters, deps.dispatch_policy(), deps.settings, batch_size=50
        ).run_once(as_of=NOW + timedelta(days=2))
    finally:
        close_adapters(adapters)
    assert claimed == [50] and stats.sent == 0
    counts = _by_status(deps, cid)
    assert MessageStatus.SENDING not in counts
    if action == "pause":
        assert stats.released == 50  # handed back untouched, still scheduled
        assert MessageStatus.SKIPPED not in counts or all(
            m.skip_reason != SkipReason.CAMPAIGN_STOPPED for m in _messages(deps, cid)
        )
    else:
        assert stats.skipped[SkipReason.CAMPAIGN_STOPPED] == 50
        assert MessageStatus.SCHEDULED not in counts


def test_after_an_outage_step_two_keeps_its_gap_after_step_one(
    launched: tuple[Deps, str], settings: Settings
) -> None:
    deps, cid = launched
    # The worker was down for ten days: both steps are due for everyone.
    late = NOW + timedelta(days=10, hours=4)
    out = run_cli(settings, "worker", "--once", "--as-of", late.isoformat())
    assert out.returncode == 0, out.stderr
    msgs = _messages(deps, cid)
    s1 = {m.customer_id: m for m in msgs if m.step_id == "s1" and m.status == MessageStatus.SENT}
    assert len(s1) > 10

    def followed() -> list[MessageRow]:
        """Step-2 messages sent to people who got step 1 (someone whose step 1 was skipped,
        e.g. no e-mail consent, may get the SMS at once: there is nothing to space from)."""
        return [
            m
            for m in _messages(deps, cid)
            if m.step_id == "s2" and m.status == MessageStatus.SENT and m.customer_id in s1
        ]

    assert not followed()
    # Just before the gap has passed: still nothing; a day after it: the reminders go.
    run_worker(settings, once=True, as_of=late + GAP - timedelta(hours=3), echo=lambda _: None)
    assert not followed()
    run_worker(settings, once=True, as_of=late + GAP + timedelta(days=1), echo=lambda _: None)
    s2 = followed()
    assert s2
    for m in s2:
        first = s1[m.customer_id]
        assert m.sent_at is not None and first.sent_at is not None
        assert m.sent_at - first.sent_at >= GAP


def test_the_worker_completes_a_campaign_once_its_measurement_window_closes(
    launched: tuple[Deps, str], settings: Settings
) -> None:
    deps, cid = launched
    window = timedelta(days=deps.kit.measurement_window_days)
    quiet = lambda _: None  # noqa: E731
    clock = NOW + timedelta(days=1)
    # Every six hours, so that each timezone gets a moment outside its quiet hours; bounded.
    for _ in range(80):
        if not _by_status(deps, cid).get(MessageStatus.SCHEDULED):
            break
        run_worker(settings, once=True, as_of=clock, echo=quiet)
        assert get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
        clock += timedelta(hours=6)
    assert not _by_status(deps, cid).get(MessageStatus.SCHEDULED)
    last = max(m.sent_at or m.scheduled_at for m in _messages(deps, cid))

    run_worker(settings, once=True, as_of=last + window - timedelta(hours=1), echo=quiet)
    assert get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
    assert final_report(deps.db, cid) is None

    lines: list[str] = []
    run_worker(settings, once=True, as_of=last + window + timedelta(hours=1), echo=lines.append)
    assert get_campaign(deps.db, cid).status == CampaignStatus.COMPLETED
    assert any("completed" in line for line in lines)
    stored = final_report(deps.db, cid)
    assert stored is not None
    assert stored["campaign"]["status"] == "completed"
    assert stored["messages"].get("sent", 0) > 0
    assert stored["measurement"]["treated_n"] > 0

    run_worker(settings, once=True, as_of=last + window + timedelta(days=2), echo=quiet)
    completions = [d for d in list_decisions(deps.db, cid) if d.action == "completed"]
    assert len(completions) == 1
    mia = bearer(deps.db, "mia")
    with TestClient(create_app(deps=deps)) as client:
        r = client.get(f"/api/v1/campaigns/{cid}/final-report", headers=mia)
        assert r.status_code == 200 and r.json()["campaign"]["status"] == "completed"
        r = client.post(f"/api/v1/campaigns/{cid}/pause", json={}, headers=mia)
        assert r.status_code == 409
