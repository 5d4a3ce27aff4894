"""The HTTP API on a seeded world: brief → approval queue → decision, and clear errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from graphs.runtime import Deps
from tests.integration.conftest import WINBACK_BRIEF


def test_brief_approval_and_campaign_over_http(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["status"] == "awaiting_approval"
        aid, cid = body["approval_id"], body["campaign_id"]

        pending = client.get("/api/v1/approvals").json()
        assert [a["id"] for a in pending] == [aid]
        assert pending[0]["evidence"]["audience_size"] == body["audience_size"]

        r = client.post(f"/api/v1/approvals/{aid}/approve", json={"decided_by": "ana@northwind"})
        assert r.status_code == 200, r.text
        assert r.json()["campaign_status"] == "active"
        assert client.get("/api/v1/approvals").json() == []

        again = client.post(
            f"/api/v1/approvals/{aid}/reject", json={"decided_by": "bob", "comment": "late"}
        )
        assert again.status_code == 409 and "already approved" in again.json()["detail"]

        camp = client.get(f"/api/v1/campaigns/{cid}").json()
        assert camp["campaign"]["status"] == "active"
        assert camp["messages"].get("scheduled", 0) > 0
        trail = client.get(f"/api/v1/campaigns/{cid}/decisions").json()
        assert any(d["agent"] == "human" and d["action"] == "approved_launch" for d in trail)


def test_api_errors_say_what_to_do(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        assert client.get("/api/v1/campaigns/cmp_missing").status_code == 404
        r = client.post("/api/v1/approvals/apr_missing/approve", json={"decided_by": "x"})
        assert r.status_code == 404 and "autocmo approvals" in r.json()["detail"]
        assert client.post("/api/v1/briefs", json={"text": ""}).status_code == 422
        q = client.post("/api/v1/briefs", json={"text": "send some email to people"}).json()
        assert q["status"] == "needs_input" and q["questions"]
        spec = client.get("/openapi.json").json()
        assert "/api/v1/briefs" in spec["paths"] and "/api/v1/approvals" in spec["paths"]
