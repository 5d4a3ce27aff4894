"""Malformed input gets a 4xx with a message, never a 500; concurrent decisions on PostgreSQL
have exactly one winner."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import WINBACK_BRIEF, bearer, seeded
from tests.support.servers import serve_app
from tools.delivery.channels.webhook import sign
from tools.delivery.tokens import sign_token


def _signed(settings: Settings, body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    return {
        "X-Autocmo-Timestamp": ts,
        "X-Autocmo-Signature": sign(settings.secret_key, ts, body),
        "Content-Type": "application/json",
    }


def test_malformed_input_gets_a_clear_4xx(world: Deps) -> None:
    with TestClient(create_app(deps=world), raise_server_exceptions=False) as client:
        truncated = '{"events": [{"type": "bounce", "address": "a@b.c"'
        r = client.post(
            "/webhooks/delivery-events",
            content=truncated,
            headers=_signed(world.settings, truncated),
        )
        assert r.status_code == 422 and "JSON" in json.dumps(r.json()), r.text

        blank = json.dumps({"events": [{"type": "bounce", "address": "     "}]})
        r = client.post(
            "/webhooks/delivery-events", content=blank, headers=_signed(world.settings, blank)
        )
        assert r.status_code == 422 and "address" in r.text, r.text

        token = sign_token(
            world.settings.secret_key,
            {"p": "unsubscribe", "customer_id": "cus_x", "channel": "fax", "campaign_id": "c"},
        )
        for method in ("GET", "POST"):
            r = client.request(method, f"/u/{token}")
            assert r.status_code == 400 and "not valid" in r.text, (method, r.status_code)

        headers = bearer(world.db, "mia")
        r = client.post("/api/v1/briefs", content='{"text": "half', headers=headers)
        assert r.status_code == 422


@pytest.fixture
def pg_world(pg_url: str, settings: Settings) -> Iterator[Deps]:
    """The seeded world on PostgreSQL."""
    s = settings.model_copy(update={"database_url": pg_url})
    deps = seeded(s, customers=400, with_rules=False)
    yield deps
    deps.db.dispose()


@pytest.mark.postgres
def test_nul_byte_is_a_422_on_postgresql(pg_world: Deps) -> None:
    with TestClient(create_app(deps=pg_world), raise_server_exceptions=False) as client:
        r = client.post(
            "/api/v1/briefs",
            json={"text": "Win back lapsed buyers by email\u0000 with 10% off"},
            headers=bearer(pg_world.db, "mia"),
        )
        assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text


@pytest.mark.postgres
def test_approve_and_reject_at_the_same_moment_one_wins(pg_world: Deps) -> None:
    res = submit_brief(pg_world, WINBACK_BRIEF, submitted_by="mia")
    assert res.approval_id
    headers = {who: bearer(pg_world.db, who) for who in ("qa", "ana", "vic")}
    barrier = threading.Barrier(2)
    codes: dict[str, int] = {}

    def call(base: str, action: str, who: str) -> None:
        with httpx.Client(base_url=base, headers=headers[who], timeout=120) as client:
            barrier.wait()
            r = client.post(
                f"/api/v1/approvals/{res.approval_id}/{action}",
                json={"comment": f"{action} by {who}"},
            )
            codes[action] = r.status_code

    with serve_app(create_app(deps=pg_world)) as base:
        threads = [
            threading.Thread(target=call, args=(base, "approve", "qa")),
            threading.Thread(target=call, args=(base, "reject", "ana")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        camp = httpx.get(
            f"{base}/api/v1/campaigns/{res.campaign_id}", headers=headers["vic"], timeout=60
        ).json()
    assert sorted(codes.values()) == [200, 409], codes
    if codes["approve"] == 200:
        assert camp["campaign"]["status"] == "active" and camp["messages"].get("scheduled", 0) > 0
    else:
        assert camp["campaign"]["status"] == "rejected" and not camp["messages"]
