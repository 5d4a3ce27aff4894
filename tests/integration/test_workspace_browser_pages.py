"""The dashboard, the revision approval, the check form and the admin pages in headless
Chromium, on a campaign with a week of sends and simulated responses. Screenshots go to
`{data_dir}/screenshots/` (and to `AUTOCMO_SCREENSHOTS` when set: the README's come from here)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from api.app import create_app
from api.demo import _run_worker, _simulate
from core import campaigns as repo
from core.catalog import list_products
from core.models import ApprovalStatus
from core.settings import Settings
from graphs.operations import decide, optimize, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded
from tests.integration.test_workspace_browser import CHROMIUM, _login, browser
from tests.support.servers import serve_app
from tools.sandbox.simulator import ResponseSimulator

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]
__all__ = ["browser"]  # the fixture, shared with the brief-to-dashboard test


@pytest.fixture
def running(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Deps, str, str | None]]:
    """A live win-back campaign after four days of sends and responses, with an optimizer
    revision waiting for a human (the policy here lets no shift apply alone).

    The campaign id is fixed: arms and the holdout are drawn by hashing it, so with a random
    id the simulated week sometimes left the arms too close for the optimizer to ask anything.
    """
    minted = repo.new_id
    monkeypatch.setattr(repo, "new_id", lambda p: "cmp_browserpages" if p == "cmp" else minted(p))
    deps = seeded(settings, customers=2400, with_rules=False)
    strict = deps.kit.approval_policy.model_copy(
        update={"max_auto_allocation_shift": 0.0, "max_auto_revision_risk": 0.0}
    )
    deps.kit = deps.kit.model_copy(update={"approval_policy": strict})
    res = submit_brief(deps, WINBACK_BRIEF, submitted_by="mia")
    assert res.approval_id
    decide(deps, res.approval_id, approved=True, decided_by="qa")
    cid = res.campaign_id
    assert cid == "cmp_browserpages"
    sim = ResponseSimulator(seed=3, products={p.id: p for p in list_products(deps.db)})
    assigned = repo.assignments(deps.db, cid)
    _run_worker(deps, NOW, NOW + timedelta(hours=26))
    _simulate(deps, sim, cid, step_id="s1", assigned=assigned, as_of=NOW + timedelta(days=3))
    _run_worker(deps, NOW + timedelta(hours=26), NOW + timedelta(days=4))
    _simulate(deps, sim, cid, step_id="s2", assigned=assigned, as_of=NOW + timedelta(days=5))
    optimize(deps, cid, as_of=NOW + timedelta(days=4))
    pending = [
        a.id
        for a in repo.list_approvals(deps.db, status=ApprovalStatus.PENDING)
        if a.campaign_id == cid and a.kind == "revision"
    ]
    yield deps, cid, (pending[0] if pending else None)
    deps.db.dispose()


def test_dashboard_revision_check_and_admin_pages_in_the_browser(
    running: tuple[Deps, str, str | None], browser: Any
) -> None:
    deps, cid, revision_approval = running
    shots = deps.settings.data_dir / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with serve_app(create_app(deps=deps)) as base:
        ctx = browser.new_context(viewport={"width": 1200, "height": 900})
        page = ctx.new_page()
        _login(page, base, "mia")
        page.click(f"a[href='/campaigns/{cid}']")
        page.wait_for_selector("svg[data-chart='lift']")
        assert page.locator("svg[data-chart='allocation'] rect[data-arm]").count() >= 2
        assert page.locator("button:has-text('Pause sending')").count() == 1
        page.screenshot(path=str(shots / "7-dashboard-over-time.png"), full_page=True)
        page.fill("#reason", "Stock check before the weekend")
        page.click("button:has-text('Pause sending')")
        page.wait_for_selector("text=Paused by mia")
        assert page.locator("button:has-text('Resume sending')").count() == 1

        page.click("text=Check copy")
        page.select_option("#channel", "sms")
        page.fill("#body", "Hi Alex, 40% off everything, guaranteed results! Act now!!!")
        page.fill("#percent_off", "40")
        page.click("button:has-text('Check')")
        page.wait_for_selector("#verdict")
        assert page.locator(".bubble mark").count() >= 1
        page.screenshot(path=str(shots / "8-check-copy.png"), full_page=True)
        page.click("button:has-text('Log out')")

        _login(page, base, "qa")
        if revision_approval:
            page.goto(f"{base}/approvals/{revision_approval}")
            page.wait_for_selector("#revision")
            assert page.locator("table.diff td.after").count() >= 2
            page.screenshot(path=str(shots / "9-revision-approval.png"), full_page=True)
        assert page.locator("a:has-text('Users')").count() == 0  # not an admin
        page.click("button:has-text('Log out')")

        _login(page, base, "root")
        page.click("a:has-text('Users')")
        page.fill("#name", "lea@northwind.example")
        page.select_option("#role", "approver")
        page.fill("#password", "a long first password")
        page.click("button:has-text('Add user')")
        page.wait_for_selector("text=Added lea@northwind.example as approver")
        page.screenshot(path=str(shots / "10-admin-users.png"), full_page=True)
        page.click("a:has-text('API tokens')")
        page.select_option("#user", "lea@northwind.example")
        page.fill("#label", "shop backend")
        page.click("button:has-text('Create token')")
        page.wait_for_selector("#new-token")
        assert page.inner_text("#new-token").startswith("acmo_")
        page.screenshot(path=str(shots / "11-admin-tokens.png"), full_page=True)
        ctx.close()
    keep = os.environ.get("AUTOCMO_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    assert revision_approval, "the simulated week should give the optimizer a revision to ask"
