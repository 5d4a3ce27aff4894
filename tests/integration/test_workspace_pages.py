"""The workspace pages beyond the brief: the dashboard's controls (role-gated, CSRF, audited) and
its charts over time, the revision diff on the approval page, the guardrail check form, and
the admin pages for users and tokens. Real SQLite, real sessions through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agents.optimizer import ArmStats, Measurement, measure, propose
from agents.reporting import campaign_series
from api.app import create_app
from api.check import CheckRequest, check_copy
from api.demo import _run_worker
from core import campaigns as repo
from core.audit import latest_decisions_without_campaign, list_decisions
from core.db import MessageRow
from core.messages import skip_counts
from core.models import CampaignStatus, Channel, Outcome, OutcomeKind
from core.outcomes import record_outcomes
from core.settings import Settings
from core.users import ACCOUNT_ACTIONS, get_user
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, PASSWORD, WINBACK_BRIEF, seeded

pytestmark = pytest.mark.integration
_HTML = {"Accept": "text/html"}


@pytest.fixture
def launched(settings: Settings) -> Iterator[tuple[Deps, str]]:
    """A seeded world (no rule store) with an approved, active win-back campaign."""
    deps = seeded(settings, customers=500, with_rules=False)
    res = submit_brief(deps, WINBACK_BRIEF, submitted_by="mia")
    assert res.approval_id
    decide(deps, res.approval_id, approved=True, decided_by="qa")
    yield deps, res.campaign_id
    deps.db.dispose()


def _login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    r = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    return csrf.group(1)


def test_dashboard_controls_are_role_gated_csrf_protected_and_audited(
    launched: tuple[Deps, str],
) -> None:
    deps, cid = launched
    app = create_app(deps=deps)
    with TestClient(app) as anon:
        r = anon.post(f"/campaigns/{cid}/control", data={"action": "pause"})
        assert r.status_code == 401
        page = anon.get(f"/campaigns/{cid}", headers=_HTML, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    with TestClient(app) as viewer:
        csrf = _login(viewer, "vic")
        page = viewer.get(f"/campaigns/{cid}").text
        assert "Pause sending" not in page and "You are a viewer" in page
        r = viewer.post(f"/campaigns/{cid}/control", data={"action": "pause", "csrf_token": csrf})
        assert r.status_code == 403
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.ACTIVE
    with TestClient(app) as mia:
        csrf = _login(mia, "mia")
        page = mia.get(f"/campaigns/{cid}").text
        assert "Pause sending" in page and "Stop campaign" in page and "Resume" not in page
        r = mia.post(f"/campaigns/{cid}/control", data={"action": "pause"})  # no CSRF token
        assert r.status_code == 403
        r = mia.post(
            f"/campaigns/{cid}/control",
            data={"action": "pause", "reason": "stock ran out", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "Paused" in r.headers["location"]
        assert repo.get_campaign(deps.db, cid).status == CampaignStatus.PAUSED
        page = mia.get(r.headers["location"]).text
        assert "Paused by mia" in page and "Resume sending" in page and "Pause sending" not in page
        # pausing twice is refused with the reason, on the page
        again = mia.post(f"/campaigns/{cid}/control", data={"action": "pause", "csrf_token": csrf})
        assert again.status_code == 409 and "only a campaign that is active" in again.text
        bad = mia.post(f"/campaigns/{cid}/control", data={"action": "delete", "csrf_token": csrf})
        assert bad.status_code == 422
        stop = mia.post(
            f"/campaigns/{cid}/control",
            data={"action": "stop", "csrf_token": csrf},
            follow_redirects=False,
        )
        assert stop.status_code == 303 and "will not be sent" in unquote(stop.headers["location"])
    trail = [(d.action, d.evidence.get("by"), d.reason) for d in list_decisions(deps.db, cid)]
    assert any(a == "paused" or "pause" in a for a, by, _ in trail if by == "mia"), trail
    assert any("stock ran out" in reason for _, _, reason in trail)
    assert repo.get_campaign(deps.db, cid).status == CampaignStatus.STOPPED


def test_dashboard_charts_lift_and_allocation_over_time(launched: tuple[Deps, str]) -> None:
    deps, cid = launched
    _run_worker(deps, NOW, NOW + timedelta(days=4))  # the e-mail on day 1, the SMS on day 4
    assignments = repo.assignments(deps.db, cid)
    treated = [c for c, g in assignments if g == "treated"]
    holdout = [c for c, g in assignments if g == "holdout"]
    day2, day3 = NOW + timedelta(days=1, hours=2), NOW + timedelta(days=2, hours=2)
    outcomes = (
        [  # 30 treated buyers on day 2, 2 held-out buyers on day 3 (and a repeat buyer)
            Outcome(campaign_id=cid, customer_id=c, kind=OutcomeKind.CONVERTED, value=40.0, at=day2)
            for c in treated[:30]
        ]
        + [
            Outcome(campaign_id=cid, customer_id=c, kind=OutcomeKind.CONVERTED, value=40.0, at=day3)
            for c in [*holdout[:2], treated[0]]
        ]
    )
    record_outcomes(deps.db, outcomes)

    series = campaign_series(deps.db, cid)
    days = [p.day for p in series.lift]
    assert days == sorted(days) and days[0] == NOW.date().isoformat()
    by_day = {p.day: (p.conversions_treated, p.conversions_holdout) for p in series.lift}
    assert by_day[NOW.date().isoformat()] == (0, 0)
    assert by_day[day2.date().isoformat()] == (30, 0)
    assert by_day[day3.date().isoformat()] == (30, 2)  # a repeat buyer counts once
    final = measure(deps.db, cid).conversion_lift
    assert final is not None
    last = series.lift[-1]  # the same estimator as the report, on the same people
    assert (last.estimate, last.ci_low, last.ci_high) == pytest.approx(
        (final.estimate, final.ci_low, final.ci_high)
    )
    with deps.db.session() as s:
        sent = s.scalars(
            select(MessageRow).where(MessageRow.campaign_id == cid, MessageRow.status == "sent")
        ).all()
    per_arm: dict[str, int] = {}
    for m in sent:
        per_arm[m.arm] = per_arm.get(m.arm, 0) + 1
    totals: dict[str, int] = {}
    for counts in series.sends.values():
        for arm, n in counts.items():
            totals[arm] = totals.get(arm, 0) + n
    assert totals == per_arm and len(series.sends) >= 2  # sends on more than one day

    with TestClient(create_app(deps=deps)) as client:
        _login(client, "vic")
        html = client.get(f"/campaigns/{cid}").text
    assert 'data-chart="lift"' in html and 'data-chart="allocation"' in html
    assert "Lift, percentage points" in html and "95 % interval" in html
    assert html.count('data-band="1"') == 1
    dots = re.findall(r'<circle [^>]*data-day="([\d-]+)"', html)
    assert dots == days
    bars = re.findall(r'data-day="([\d-]+)" data-arm="(\w+)" data-count="(\d+)"', html)
    assert sum(int(n) for _, _, n in bars) == len(sent)
    skipped = skip_counts(deps.db, cid)
    assert skipped, "the sample world has people the SMS step may not text"
    for reason, n in skipped.items():
        assert f"<span>{reason.replace('_', ' ')}</span><b>{n}</b>" in html


def test_revision_approval_shows_the_diff_and_the_evidence(launched: tuple[Deps, str]) -> None:
    deps, cid = launched
    m = Measurement(
        campaign_id=cid,
        treated_n=900,
        holdout_n=100,
        messages_sent=900,
        conversions_treated=140,
        conversions_holdout=5,
        arms=[
            ArmStats(
                arm="A", angle="urgency", people=450, conversions=110, revenue=0, weight_share=0.5
            ),
            ArmStats(
                arm="B", angle="value", people=450, conversions=30, revenue=0, weight_share=0.5
            ),
        ],
    )
    [rev] = propose(m)
    assert rev.params["previous_weights"] == {"A": 0.5, "B": 0.5}
    aid = repo.request_approval(
        deps.db,
        campaign_id=cid,
        kind="revision",
        subject=rev.description,
        reason="Risk above the policy",
        evidence=rev.evidence,
        requested_by="optimizer",
        payload={"revision_id": "rev_test", "revision": rev.model_dump(mode="json")},
    )
    with TestClient(create_app(deps=deps)) as client:
        _login(client, "qa")
        queue = client.get("/approvals").text
        assert '<span class="pill">optimizer revision</span>' in queue and aid in queue
        html = client.get(f"/approvals/{aid}").text
    assert "The optimizer proposes: shift future sends between arms" in html
    rows = re.findall(
        r"<td>Share of future sends, arm (\w)</td><td class=\"before\">(\d+)%</td>"
        r"<td class=\"muted\">→</td><td class=\"after\"><b>(\d+)%",
        html,
    )
    assert rows == [("A", "50", "100"), ("B", "50", "0")]
    assert "winner: every send" in html
    assert "<td>A</td><td>450</td><td>110</td><td>24.44 %</td>" in html
    assert "points behind A (always-valid 95 % interval" in html and ": a clear gap" in html
    assert "<td>A</td><td>450</td><td>110</td><td>24.44 %</td>" in html
    assert "What people will receive" not in html  # a revision has no new messages
    assert "Approve and apply" in html


def test_check_form_shows_findings_with_the_span_marked(launched: tuple[Deps, str]) -> None:
    deps, _ = launched
    body = "Hi Alex, 90% off everything — guaranteed results, act now!!!"
    expected = check_copy(deps.kit, CheckRequest(channel=Channel.SMS, body=body, footer=True))
    assert expected.findings, "the sample copy should break a brand rule"
    with TestClient(create_app(deps=deps)) as client:
        csrf = _login(client, "vic")  # a viewer may check copy
        form = client.get("/check")
        assert form.status_code == 200 and "Check copy" in form.text
        r = client.post(
            "/check",
            data={"channel": "sms", "body": body, "footer": "true", "csrf_token": csrf},
        )
        assert r.status_code == 200
        html = r.text
        for f in expected.findings:  # the same findings as `autocmo check` and the API
            assert f"<b>{f.rule_id}</b>" in html
        spans = [f.span for f in expected.findings if f.span and f.span in body]
        assert spans and all(f"<mark>{s}</mark>" in html.replace("&amp;", "&") for s in spans)
        assert f'class="card verdict {expected.verdict}"' in html
        empty = client.post("/check", data={"channel": "sms", "body": "  ", "csrf_token": csrf})
        assert empty.status_code == 422 and "Paste the copy" in empty.text
        # with the campaign's discount given, its disclaimer is in the footer and its limit applies
        offer = {"channel": "sms", "body": "Hi Alex, 15% off this week.", "footer": "true"}
        bare = client.post("/check", data={**offer, "csrf_token": csrf}).text
        given = client.post("/check", data={**offer, "percent_off": "15", "csrf_token": csrf}).text
        assert "offer.missing_disclaimer" in bare and "offer.missing_disclaimer" not in given
        bad = client.post("/check", data={**offer, "percent_off": "lots", "csrf_token": csrf})
        assert bad.status_code == 422 and "not a number" in bad.text
        odd = client.post("/check", data={"channel": "fax", "body": "hi", "csrf_token": csrf})
        assert odd.status_code == 422 and "Unknown channel" in odd.text
        clean = client.post(
            "/check",
            data={
                "channel": "email",
                "subject": "Hello",
                "body": "Hi Alex, we miss you.",
                "csrf_token": csrf,
            },
        )
        assert clean.status_code == 200 and "<mark>" not in clean.text.split("Findings")[0]


def test_admin_pages_users_and_tokens(launched: tuple[Deps, str]) -> None:
    deps, _ = launched
    app = create_app(deps=deps)
    with TestClient(app) as anon:
        r = anon.get("/admin/users", headers=_HTML, follow_redirects=False)
        assert r.status_code == 303 and "/login" in r.headers["location"]
        assert anon.post("/admin/tokens", data={"user": "vic"}).status_code == 401
    with TestClient(app) as qa:
        csrf = _login(qa, "qa")
        assert "API tokens" not in qa.get("/").text  # no admin links for an approver
        assert qa.get("/admin/users").status_code == 403
        assert qa.get("/admin/tokens").status_code == 403
        r = qa.post(
            "/admin/users",
            data={"name": "eve", "role": "admin", "password": "x" * 12, "csrf_token": csrf},
        )
        assert r.status_code == 403 and get_user(deps.db, "eve") is None
    with TestClient(app) as root, TestClient(app) as newbie:
        csrf = _login(root, "root")
        page = root.get("/admin/users").text
        assert all(n in page for n in ("mia", "qa", "vic", "root"))
        r = root.post(
            "/admin/users", data={"name": "nia", "role": "marketer", "password": "long enough pw"}
        )
        assert r.status_code == 403  # no CSRF token
        short = root.post(
            "/admin/users",
            data={"name": "nia", "role": "marketer", "password": "short", "csrf_token": csrf},
        )
        assert short.status_code == 422 and "too short" in short.text
        assert 'value="nia"' in short.text  # the form keeps what was typed
        r = root.post(
            "/admin/users",
            data={
                "name": "nia",
                "role": "marketer",
                "password": "long enough pw",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        user = get_user(deps.db, "nia")
        assert user is not None and user.role.value == "marketer"
        dup = root.post(
            "/admin/users",
            data={
                "name": "nia",
                "role": "viewer",
                "password": "long enough pw",
                "csrf_token": csrf,
            },
        )
        assert dup.status_code == 422 and "exists already" in dup.text

        made = root.post(
            "/admin/tokens", data={"user": "nia", "label": "shop backend", "csrf_token": csrf}
        )
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        token = re.search(r'<pre id="new-token">(acmo_[\w-]+)</pre>', made.text)
        assert token is not None
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        with TestClient(app) as api:
            assert api.get("/api/v1/campaigns", headers=bearer).status_code == 200
        listing = root.get("/admin/tokens").text
        assert "shop backend" in listing and token.group(1) not in listing  # shown once
        tid = re.search(r'action="/admin/tokens/(tok_\w+)/revoke"', listing)
        assert tid is not None
        r = root.post(
            f"/admin/tokens/{tid.group(1)}/revoke",
            data={"csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 303
        with TestClient(app) as api:
            assert api.get("/api/v1/campaigns", headers=bearer).status_code == 401
        assert (
            root.post("/admin/tokens/tok_nope/revoke", data={"csrf_token": csrf}).status_code == 404
        )

        # a deactivated user's open session ends at once
        _login(newbie, "nia", "long enough pw")
        assert newbie.get("/", headers=_HTML).status_code == 200
        r = root.post(
            "/admin/users/nia/deactivate", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert r.status_code == 303
        gone = newbie.get("/", headers=_HTML, follow_redirects=False)
        assert gone.status_code == 303 and "/login" in gone.headers["location"]
        last = root.post("/admin/users/root/deactivate", data={"csrf_token": csrf})
        assert last.status_code == 409 and "last active admin" in last.text
        page = root.get("/admin/users").text
        assert "root deactivated nia." in page and "root created token" in page

    trail = latest_decisions_without_campaign(deps.db, ACCOUNT_ACTIONS)
    mine = [(d.action, d.evidence["user"]) for d in trail if d.evidence.get("by") == "root"]
    assert mine == [
        ("user_deactivated", "nia"),
        ("token_revoked", "nia"),
        ("token_created", "nia"),
        ("user_added", "nia"),
    ]
