"""The workspace in headless Chromium: a marketer logs in, writes a brief in the chat, answers
the planner's question in the same thread, asks for a change and submits; the marketer cannot
approve; an approver sees the rendered previews and findings and approves; the dashboard shows
the campaign scheduled, then its sends after a worker run. Screenshots go to
`{data_dir}/screenshots/` (and `AUTOCMO_SCREENSHOTS`)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, PASSWORD, WINBACK_BRIEF, run_cli
from tests.support.servers import serve_app

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does)",
    ),
]


@pytest.fixture
def server(world: Deps) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1."""
    with serve_app(create_app(deps=world)) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium from the system package (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_brief_to_approval_to_dashboard_in_the_browser(
    world: Deps, server: str, browser: Any
) -> None:
    shots = world.settings.data_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    page = ctx.new_page()

    page.goto(f"{server}/approvals")  # anonymous: sent to the login page
    assert "/login" in page.url
    page.screenshot(path=str(shots / "1-login.png"))
    _login(page, server, "mia")

    page.click("text=New brief")
    page.fill("#text", "send some email to people")
    page.click("button:has-text('Send')")
    # the agents work in the background; the thread polls until the planner asks
    page.wait_for_selector("text=I need a little more", timeout=120_000)
    assert page.locator("label:has-text('Your answer')").count() == 1
    page.screenshot(path=str(shots / "2-brief-question.png"), full_page=True)
    page.fill(
        "#message",
        "Win back customers who haven't ordered in the last 3 months with 10% off, "
        "code COMEBACK10, by email.",
    )
    page.click("button:has-text('Send answer')")
    page.wait_for_selector("button:has-text('Submit for approval')", timeout=120_000)
    html = page.content()
    assert "send some email to people" in html  # the same thread: the brief is not re-typed
    assert "10 % off with code COMEBACK10" in html
    page.screenshot(path=str(shots / "3-brief-plan.png"), full_page=True)

    page.fill("#message", "exclude people who bought in the last week")
    page.click("button:has-text('Ask for this change')")
    page.wait_for_selector(
        "text=people who ordered in the last 7 days are left out", timeout=120_000
    )
    assert page.locator(".turn.planner.plan").count() == 2
    page.screenshot(path=str(shots / "3b-brief-changed.png"), full_page=True)

    page.click("button:has-text('Submit for approval')")
    page.wait_for_selector(".turn.working")  # progress while the agents write and check
    page.screenshot(path=str(shots / "3c-brief-working.png"), full_page=True)
    page.wait_for_selector("text=See it in the approval queue", timeout=120_000)
    page.screenshot(path=str(shots / "3d-brief-submitted.png"), full_page=True)

    page.click("text=See it in the approval queue")
    approval_url = page.url
    assert "an approver or admin decides" in page.content()  # the marketer cannot approve
    assert page.locator("button:has-text('Approve')").count() == 0
    page.click("button:has-text('Log out')")

    _login(page, server, "qa")
    page.goto(approval_url)
    html = page.content()
    assert "{{" not in html and "first_name" not in html  # rendered, never template source
    assert "Alex" in html and "COMEBACK10" in html
    assert page.locator(".email .subj").count() > 0
    page.screenshot(path=str(shots / "4-approval.png"), full_page=True)
    page.screenshot(path=str(shots / "4-approval-top.png"))
    page.fill("#comment", "Offer within policy; copy reads well.")
    page.click("button:has-text('Approve and launch')")
    page.wait_for_selector("text=Launched")
    assert "active" in page.content()
    page.screenshot(path=str(shots / "5-dashboard-scheduled.png"), full_page=True)
    campaign_url = page.url.split("?")[0]

    out = run_cli(
        world.settings,
        "worker",
        "--once",
        "--as-of",
        NOW.replace(day=NOW.day + 3).isoformat(),
    )
    assert out.returncode == 0, out.stderr
    page.goto(campaign_url)
    page.screenshot(path=str(shots / "6-dashboard-sent.png"), full_page=True)
    html = page.content()

    # an approver's own brief: the four-eyes refusal is a readable page, not JSON
    own = submit_brief(world, WINBACK_BRIEF, submitted_by="qa")
    page.goto(f"{server}/approvals/{own.approval_id}")
    page.click("button:has-text('Approve and launch')")
    page.wait_for_selector("text=Not allowed")
    assert "four-eyes" in page.content() and page.locator("a:has-text('Go back')").count() == 1
    page.screenshot(path=str(shots / "7-four-eyes.png"))
    ctx.close()
    keep = os.environ.get("AUTOCMO_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    counts = {k: int(v) for k, v in re.findall(r'data-stage="(\w+)" data-count="(\d+)"', html)}
    assert counts["sent"] > 0 and counts["scheduled"] >= counts["sent"], counts
