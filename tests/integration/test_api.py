"""The HTTP API on a seeded world: brief → approval queue → decision, and clear errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from graphs.runtime import Deps
from tests.integration.conftest import WINBACK_BRIEF, bearer


def test_brief_approval_and_campaign_over_http(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        client.headers.update(bearer(world.db, "mia"))
        r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "awaiting_approval"
        aid, cid = body["approval_id"], body["campaign_id"]

        pending = client.get("/api/v1/approvals").json()
        assert [a["id"] for a in pending] == [aid]
        assert pending[0]["evidence"]["audience_size"] == body["audience_size"]

        client.headers.update(bearer(world.db, "ana"))
        r = client.post(f"/api/v1/approvals/{aid}/approve", json={})
        assert r.status_code == 200, r.text
        assert r.json()["approval"]["decided_by"] == "ana"
        assert r.json()["campaign_status"] == "active"
        assert client.get("/api/v1/approvals").json() == []

        again = client.post(f"/api/v1/approvals/{aid}/reject", json={"comment": "late"})
        assert again.status_code == 409 and "already approved" in again.json()["detail"]

        camp = client.get(f"/api/v1/campaigns/{cid}").json()
        assert camp["campaign"]["status"] == "active"
        assert camp["messages"].get("scheduled", 0) > 0
        trail = client.get(f"/api/v1/campaigns/{cid}/decisions").json()
        assert any(d["agent"] == "human" and d["action"] == "approved_launch" for d in trail)


def test_api_errors_say_what_to_do(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        client.headers.update(bearer(world.db, "qa"))
        assert client.get("/api/v1/campaigns/cmp_missing").status_code == 404
        r = client.post("/api/v1/approvals/apr_missing/approve", json={})
        assert r.status_code == 404 and "autocmo approvals" in r.json()["detail"]
        assert client.post("/api/v1/briefs", json={"text": ""}).status_code == 422
        q = client.post("/api/v1/briefs", json={"text": "send some email to people"}).json()
        assert q["status"] == "needs_input" and q["questions"]
        spec = client.get("/openapi.json").json()
        assert "/api/v1/briefs" in spec["paths"] and "/api/v1/approvals" in spec["paths"]


def test_unsubscribe_link_confirms_then_opts_out_and_wins_over_scheduled_sends(
    world: Deps,
) -> None:
    from sqlalchemy import select

    from core.db import ConsentRow
    from tools.delivery.tokens import unsubscribe_url

    with world.db.session() as s:
        row = s.scalars(
            select(ConsentRow).where(ConsentRow.channel == "email", ConsentRow.granted.is_(True))
        ).first()
        assert row is not None
        cid = row.customer_id
    url = unsubscribe_url(world.settings, customer_id=cid, channel="email", campaign_id="cmp_x")
    path = url.split("127.0.0.1:8000", 1)[1]
    with TestClient(create_app(deps=world)) as client:
        page = client.get(path)
        assert page.status_code == 200 and '<form method="post">' in page.text
        with world.db.session() as s:
            assert s.get(ConsentRow, (cid, "email")).granted  # GET alone changes nothing
        done = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "unsubscribed" in done.text
        with world.db.session() as s:
            c = s.get(ConsentRow, (cid, "email"))
            assert c is not None and not c.granted and c.source == "unsubscribe_link"
        bad = client.post(path[:-3] + "abc")
        assert bad.status_code == 400
