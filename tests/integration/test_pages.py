"""The workspace pages over HTTP: rendered previews with highlighted findings, SMS bubbles with
segment counts, and Swagger UI served without a CDN."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from core import campaigns as repo
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import WINBACK_BRIEF, bearer


def test_approval_page_renders_messages_and_marks_findings(world: Deps) -> None:
    res = submit_brief(world, WINBACK_BRIEF, submitted_by="mia")
    assert res.approval_id
    real = repo.get_approval(world.db, res.approval_id)
    finding = {
        "rule_id": "claims.test",
        "severity": "warn",
        "span": "Northwind Outfitters team",
        "explanation": "A test finding on the sign-off.",
        "field": "body",
    }
    aid = repo.request_approval(
        world.db,
        campaign_id=res.campaign_id,
        kind="launch",
        subject="Launch with a finding",
        reason="test",
        evidence={**real.evidence, "warnings": [finding]},
        requested_by="test",
    )
    with TestClient(create_app(deps=world)) as client:
        client.headers.update(bearer(world.db, "qa"))
        page = client.get(f"/approvals/{aid}")
        assert page.status_code == 200
        html = page.text
    assert "{{" not in html and "first_name" not in html  # never template source
    assert "Hi Alex" in html and "COMEBACK10" in html
    assert "<mark>Northwind Outfitters team</mark>" in html
    assert 'class="bubble"' in html and "SMS segment" in html  # the SMS step as a phone bubble
    assert "Approve and launch" in html


def test_docs_work_offline(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        js = client.get("/static/swagger/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 100_000
        assert client.get("/static/htmx.min.js").status_code == 200
