"""The whole loop on PostgreSQL (the scale path): same code, `DATABASE_URL` only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agents.reporting import campaign_report
from api.demo import _run_worker
from core.db import MessageRow
from core.settings import Settings
from graphs.operations import decide, submit_brief
from tests.integration.conftest import NOW, WINBACK_BRIEF, seeded


@pytest.mark.postgres
def test_brief_to_sends_on_postgresql(settings: Settings, pg_url: str) -> None:
    pg = settings.model_copy(update={"database_url": pg_url})
    deps = seeded(pg, customers=800, with_rules=False)
    assert deps.db.engine.dialect.name == "postgresql"
    res = submit_brief(deps, WINBACK_BRIEF)
    assert res.status == "awaiting_approval" and res.approval_id
    decide(deps, res.approval_id, approved=True, decided_by="qa")
    _run_worker(deps, NOW, NOW + timedelta(hours=26))
    with deps.db.session() as s:
        sent = s.scalar(
            select(func.count()).where(
                MessageRow.campaign_id == res.campaign_id, MessageRow.status == "sent"
            )
        )
    assert sent and sent > 0
    rep = campaign_report(deps.db, res.campaign_id)
    assert rep.campaign.status == "active"
    assert rep.messages["sent"] == sent
    deps.db.dispose()
