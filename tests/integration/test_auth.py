"""Who may do what: every non-public route refuses anonymous callers, roles gate decisions,
four-eyes holds, the decider comes from the login, and browser sessions need CSRF tokens."""

from __future__ import annotations

import re
import stat

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import PUBLIC_PREFIXES, is_public
from api.routes import admin_pages, check_pages, dashboard_pages, pages
from core.settings import Settings
from graphs.runtime import Deps
from tests.integration.conftest import PASSWORD, WINBACK_BRIEF, bearer, run_cli
from tools.delivery.tokens import unsubscribe_url


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_non_public_route_refuses_anonymous_callers(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        spec = client.get("/openapi.json").json()
        routes = [(m.upper(), path) for path, ops in spec["paths"].items() for m in ops]
        # the pages are left out of the schema; walk their router too
        routes += [
            (m, r.path)
            for router in (pages, dashboard_pages, check_pages, admin_pages)
            for r in router.router.routes
            if isinstance(r, APIRoute)
            for m in r.methods
        ]
        checked = 0
        for method, path in routes:
            if is_public(path):
                continue
            r = client.request(method, _concrete(path))
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert "Bearer" in r.headers.get("www-authenticate", "")
            checked += 1
        assert checked >= 22
        # a browser is sent to the login page instead
        page = client.get("/approvals", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/approvals"
        # a wrong token is refused with advice, not treated as anonymous
        bad = client.get("/api/v1/campaigns", headers={"Authorization": "Bearer acmo_nope"})
        assert bad.status_code == 401 and "autocmo tokens create" in bad.json()["detail"]
    # what is public is a short, explicit list
    assert {"/u/", "/webhooks/", "/login"} <= set(PUBLIC_PREFIXES)
    assert is_public("/login") and not is_public("/loginx") and not is_public("/api/v1/campaigns")


def test_roles_four_eyes_and_the_decider_from_the_login(world: Deps) -> None:
    db = world.db
    with TestClient(create_app(deps=world)) as client:
        viewer = bearer(db, "vic")
        assert client.get("/api/v1/campaigns", headers=viewer).status_code == 200
        r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF}, headers=viewer)
        assert r.status_code == 403 and "vic is a viewer" in r.json()["detail"]

        mia = bearer(db, "mia")
        body = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF}, headers=mia).json()
        aid = body["approval_id"]
        r = client.post(f"/api/v1/approvals/{aid}/approve", json={}, headers=mia)
        assert r.status_code == 403 and "approver" in r.json()["detail"]

        # an approver who submitted the brief may not decide it (four-eyes)
        qa = bearer(db, "qa")
        own = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF}, headers=qa).json()
        r = client.post(f"/api/v1/approvals/{own['approval_id']}/approve", json={}, headers=qa)
        assert r.status_code == 403 and "four-eyes" in r.json()["detail"]

        # the decider is whoever is logged in; a `decided_by` in the body changes nothing
        r = client.post(
            f"/api/v1/approvals/{aid}/approve",
            json={"decided_by": "anonymous", "comment": "fine"},
            headers=qa,
        )
        assert r.status_code == 200, r.text
        assert r.json()["approval"]["decided_by"] == "qa"
        spec = client.get("/openapi.json").json()
        assert "decided_by" not in spec["components"]["schemas"]["DecisionCreate"]["properties"]


def test_browser_login_session_csrf_and_rate_limit(world: Deps) -> None:
    with TestClient(create_app(deps=world)) as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        csrf = token.group(1)
        # without the form's CSRF token the login is refused
        r = client.post("/login", data={"username": "mia", "password": PASSWORD})
        assert r.status_code == 422 or r.status_code == 403
        r = client.post(
            "/login",
            data={"username": "mia", "password": PASSWORD, "csrf_token": csrf, "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        home = client.get("/")
        assert home.status_code == 200 and "mia" in home.text
        session_csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert session_csrf is not None
        # a form POST with the session but without its CSRF token is refused
        r = client.post("/briefs", data={"text": WINBACK_BRIEF})
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        r = client.post("/api/v1/briefs", json={"text": WINBACK_BRIEF})
        assert r.status_code == 403
        ok = client.post(
            "/api/v1/briefs",
            json={"text": WINBACK_BRIEF},
            headers={"X-CSRF-Token": session_csrf.group(1)},
        )
        assert ok.status_code == 201, ok.text

    with TestClient(create_app(deps=world)) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert csrf is not None
        attempt = {"username": "qa", "password": "wrong password", "csrf_token": csrf.group(1)}
        codes = [client.post("/login", data=attempt).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]
        # even the right password waits out the window
        right = {**attempt, "password": PASSWORD}
        r = client.post("/login", data=right, follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_serve_refuses_the_default_secret_and_generates_one(settings: Settings) -> None:
    out = run_cli(settings, "serve", "--port", "1", env={"AUTOCMO_DEV_MODE": "0"})
    assert out.returncode == 2 and "AUTOCMO_SECRET_KEY" in out.stderr
    assert settings.default_secret
    path = settings.generate_secret()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(data_dir=settings.data_dir, _env_file=None)  # type: ignore[call-arg]
    assert again.secret_key == settings.secret_key and not again.default_secret


def test_worker_refuses_the_default_secret_like_serve(settings: Settings) -> None:
    refused = run_cli(settings, "worker", "--once", env={"AUTOCMO_DEV_MODE": "0"})
    assert refused.returncode == 2 and "AUTOCMO_SECRET_KEY" in refused.stderr
    assert "dispatch" not in refused.stdout  # nothing ran
    dev = run_cli(settings, "worker", "--once", env={"AUTOCMO_DEV_MODE": "1"})
    assert dev.returncode == 0, dev.stderr
    assert "development mode" in dev.stderr and "dispatch" in dev.stdout
    keyed = run_cli(
        settings,
        "worker",
        "--once",
        env={"AUTOCMO_DEV_MODE": "0", "AUTOCMO_SECRET_KEY": "a-configured-key-0123456789"},
    )
    assert keyed.returncode == 0, keyed.stderr
    assert "development mode" not in keyed.stderr and "dispatch" in keyed.stdout


def test_links_signed_before_a_key_rotation_keep_working(world: Deps) -> None:
    old = world.settings.model_copy(update={"secret_key": "old-key-0123456789"})
    url = unsubscribe_url(old, customer_id="cus_x", channel="email", campaign_id="cmp_x")
    path = url.split("127.0.0.1:8000", 1)[1]
    world.settings = world.settings.model_copy(
        update={"secret_key": "new-key-abcdefghij", "previous_secret_keys": "old-key-0123456789"}
    )
    with TestClient(create_app(deps=world)) as client:
        assert client.get(path).status_code == 200  # verified with the previous key
        world.settings = world.settings.model_copy(update={"previous_secret_keys": ""})
        assert client.get(path).status_code == 400  # the old key is no longer accepted


def test_bodies_over_the_limit_get_413_before_they_are_read(world: Deps) -> None:
    world.settings = world.settings.model_copy(update={"max_body_bytes": 10_000})
    with TestClient(create_app(deps=world)) as client:
        big = "x" * 20_000
        r = client.post("/api/v1/briefs", content=big, headers={"Content-Type": "text/plain"})
        assert r.status_code == 413 and "larger than 10000 bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(20):
                yield b"x" * 1000

        r = client.post("/webhooks/delivery-events", content=chunks())
        assert r.status_code == 413
