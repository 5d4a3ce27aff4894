"""The brief chat over HTTP: the page form opens a draft, answers and change requests continue
the same thread in the background while the page shows progress, the plan is submitted;
failures on page forms (409, four-eyes 403) render HTML while the JSON API keeps JSON."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.chat import DraftJobs
from graphs.campaign import launch_approval_id
from graphs.operations import BriefResult, open_draft, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import WINBACK_BRIEF, bearer

HTML = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def client(world: Deps) -> Iterator[TestClient]:
    """The app with a fresh job registry, following no redirects."""
    with TestClient(create_app(deps=world), follow_redirects=False) as c:
        c.app.state.draft_jobs = DraftJobs()  # type: ignore[attr-defined]
        yield c


def _as(world: Deps, name: str) -> dict[str, str]:
    return {**HTML, **bearer(world.db, name)}


def _settle(client: TestClient, cid: str, headers: dict[str, str]) -> str:
    """Wait for the agents, then the draft page's HTML."""
    assert client.app.state.draft_jobs.wait(cid, 180)  # type: ignore[attr-defined]
    page = client.get(f"/drafts/{cid}", headers=headers)
    assert page.status_code == 200
    return page.text


def test_brief_chat_answers_changes_and_submits_in_one_thread(
    world: Deps, client: TestClient
) -> None:
    mia = _as(world, "mia")
    new = client.post("/briefs", data={"text": "send some email to people"}, headers=mia)
    assert new.status_code == 303
    cid = new.headers["location"].removeprefix("/drafts/")
    html = _settle(client, cid, mia)
    assert "I need a little more" in html and "Your answer" in html

    answer = "Win back customers who haven't ordered in 3 months with 10% off, code COMEBACK10."
    r = client.post(f"/drafts/{cid}/messages", data={"text": answer}, headers=mia)
    assert r.status_code == 303 and r.headers["location"] == f"/drafts/{cid}"
    html = _settle(client, cid, mia)
    assert "send some email to people" in html and answer.replace("'", "&#39;") in html
    assert "Submit for approval" in html and "Ask for a change" in html
    assert "Winback" in html and "10 % off with code COMEBACK10" in html

    r = client.post(f"/drafts/{cid}/messages", data={"text": "SMS only"}, headers=mia)
    assert r.status_code == 303
    html = _settle(client, cid, mia)
    assert "Change: sms only." in html and html.count('class="turn planner plan"') == 2
    assert "Language: each person&#39;s own (where the brand kit has it)" in html

    r = client.post(f"/drafts/{cid}/messages", data={"text": "auf Deutsch bitte"}, headers=mia)
    html = _settle(client, cid, mia)
    assert "Language: German (de) for everyone" in html
    assert '<li class="changed">Change: every message in German (de)' in html

    r = client.post(f"/drafts/{cid}/submit", headers=mia)
    assert r.status_code == 303
    html = _settle(client, cid, mia)
    aid = launch_approval_id(cid)
    assert "waits for an approver" in html and f'href="/approvals/{aid}"' in html
    assert f"/drafts/{cid}/submit" not in html  # nothing left to submit
    # the campaign's dashboard leads back to the conversation
    assert f'href="/drafts/{cid}"' in client.get(f"/campaigns/{cid}", headers=mia).text

    # a change while an approver decides: a readable page, not JSON
    late = client.post(f"/drafts/{cid}/messages", data={"text": "email only"}, headers=mia)
    assert late.status_code == 409 and late.headers["content-type"].startswith("text/html")
    assert "it cannot change now" in late.text and 'role="alert"' in late.text
    # the same through the JSON API stays JSON
    api = client.post(
        f"/api/v1/briefs/{cid}/messages",
        json={"text": "email only"},
        headers=bearer(world.db, "mia"),
    )
    assert api.status_code == 409 and "waits for an approver" in api.json()["detail"]


def test_the_thread_shows_progress_while_the_agents_work(world: Deps, client: TestClient) -> None:
    mia = _as(world, "mia")
    cid = open_draft(world, WINBACK_BRIEF, submitted_by="mia")
    jobs: DraftJobs = client.app.state.draft_jobs  # type: ignore[attr-defined]
    release = threading.Event()

    def run(on_step: object) -> BriefResult:
        assert callable(on_step)
        on_step("plan")
        assert release.wait(30)
        return submit_brief(world, "unused", submitted_by="mia")  # any finished result

    jobs.start(cid, "Reading the brief and drafting the plan", lambda: run)
    frag = client.get(f"/drafts/{cid}/thread", headers=mia)
    assert frag.status_code == 200
    assert f'hx-get="/drafts/{cid}/thread"' in frag.text  # the fragment polls itself
    assert "Plan drafted" in frag.text and "Writing the messages for each step" in frag.text
    assert "<textarea" not in frag.text  # no second message while the agents work
    busy = client.post(f"/drafts/{cid}/messages", data={"text": "SMS only"}, headers=mia)
    assert busy.status_code == 409 and "still working" in busy.text
    release.set()
    assert jobs.wait(cid, 60)
    frag = client.get(f"/drafts/{cid}/thread", headers=mia)
    assert "hx-get" not in frag.text


def test_page_decisions_that_fail_render_html(world: Deps, client: TestClient) -> None:
    res = submit_brief(world, WINBACK_BRIEF, submitted_by="qa")  # an approver's own brief
    assert res.approval_id
    own = client.post(
        f"/approvals/{res.approval_id}/decide",
        data={"decision": "approve"},
        headers=_as(world, "qa"),
    )
    assert own.status_code == 403 and own.headers["content-type"].startswith("text/html")
    assert "four-eyes" in own.text and "<h1>Not allowed</h1>" in own.text
    # a marketer may not decide at all
    mia = client.post(
        f"/approvals/{res.approval_id}/decide",
        data={"decision": "approve"},
        headers=_as(world, "mia"),
    )
    assert mia.status_code == 403 and "approver or admin" in mia.text and "<html" in mia.text
    ana = _as(world, "ana")
    ok = client.post(
        f"/approvals/{res.approval_id}/decide", data={"decision": "approve"}, headers=ana
    )
    assert ok.status_code == 303
    twice = client.post(
        f"/approvals/{res.approval_id}/decide",
        data={"decision": "reject", "comment": "no"},
        headers=ana,
    )
    assert twice.status_code == 409 and "already approved" in twice.text
    assert re.search(r"<h1>That cannot be done now</h1>", twice.text)
    # the JSON API answers the same refusal in JSON
    url = f"/api/v1/approvals/{res.approval_id}/approve"
    api = client.post(url, json={}, headers=bearer(world.db, "ana"))
    assert api.status_code == 409 and api.json()["detail"].startswith("Approval")
    api = client.post(url, json={}, headers=bearer(world.db, "qa"))
    assert api.status_code == 403 and "four-eyes" in api.json()["detail"]
    missing = client.get("/drafts/cmp_nope", headers=ana)
    assert missing.status_code == 404 and "<html" in missing.text


def test_draft_api(world: Deps, client: TestClient) -> None:
    mia = bearer(world.db, "mia")
    r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF, "review": True}, headers=mia)
    assert r.status_code == 201 and r.json()["waiting_for"] == "review"
    cid = r.json()["campaign_id"]
    r = client.post(
        f"/api/v1/briefs/{cid}/messages", json={"text": "drop the discount"}, headers=mia
    )
    assert r.status_code == 200 and r.json()["plan"]["objective"]["offer"]["kind"] == "none"
    r = client.post(f"/api/v1/briefs/{cid}/messages", json={"text": "   "}, headers=mia)
    assert r.status_code == 422
    r = client.post(f"/api/v1/briefs/{cid}/submit", headers=mia)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_approval"
    r = client.post(f"/api/v1/briefs/{cid}/submit", headers=mia)
    assert r.status_code == 409 and "already submitted" in r.json()["detail"]
    thread = client.get(f"/api/v1/briefs/{cid}", headers=bearer(world.db, "vic")).json()
    assert [m["kind"] for m in thread["messages"]] == [
        "brief",
        "plan",
        "change",
        "plan",
        "submit",
        "waiting",
    ]
    assert thread["status"] == "awaiting_approval"
    viewer = client.post(
        f"/api/v1/briefs/{cid}/messages", json={"text": "SMS only"}, headers=bearer(world.db, "vic")
    )
    assert viewer.status_code == 403
    assert client.get("/api/v1/briefs/cmp_nope", headers=mia).status_code == 404


def test_a_rejected_plan_is_revised_and_resubmitted_on_the_page(
    world: Deps, client: TestClient
) -> None:
    mia = _as(world, "mia")
    token = bearer(world.db, "mia")
    r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF, "review": True}, headers=token)
    cid = r.json()["campaign_id"]
    aid = client.post(f"/api/v1/briefs/{cid}/submit", headers=token).json()["approval_id"]
    no = client.post(
        f"/api/v1/approvals/{aid}/reject",
        json={"comment": "No SMS this month."},
        headers=bearer(world.db, "qa"),
    )
    assert no.status_code == 200
    html = _settle(client, cid, mia)
    assert "No SMS this month." in html and "Revise the rejected plan" in html

    r = client.post(f"/drafts/{cid}/messages", data={"text": "email only"}, headers=mia)
    assert r.status_code == 303
    html = _settle(client, cid, mia)
    assert "Change: no sms." in html or "Change: email only." in html
    assert f"/drafts/{cid}/submit" in html  # the revised plan waits for the marketer again
    assert client.post(f"/drafts/{cid}/submit", headers=mia).status_code == 303
    html = _settle(client, cid, mia)
    again = launch_approval_id(cid, 2)
    assert f'href="/approvals/{again}"' in html
    pending = client.get("/api/v1/approvals", headers=token).json()
    assert [a["id"] for a in pending] == [again]
