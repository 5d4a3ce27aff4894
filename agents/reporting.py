"""The campaign report: what a marketer reads about one campaign — its plan, the outbox, lift
against the holdout, per-arm results, revisions, guardrail findings and LLM use.

A read model over core's repositories plus the optimizer's measurement; it runs no graph.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from agents.journeys import has_entries_to_come
from agents.optimizer import Measurement, measure
from core import campaigns as repo
from core import messages as outbox
from core.db import Database
from core.lifecycle import complete_campaign, measurement_closes_at
from core.llm_usage import count_calls
from core.models import CampaignStatus, Plan
from core.revisions import RevisionView, list_revisions


class CampaignReport(BaseModel):
    """Everything a marketer needs about one campaign."""

    campaign: repo.CampaignView
    """The campaign."""
    plan: Plan | None
    """Its current plan (None before planning)."""
    messages: dict[str, int]
    """Outbox messages by status."""
    skipped: dict[str, int]
    """Skipped messages by reason."""
    measurement: Measurement
    """Lift against the holdout and per-arm results."""
    revisions: list[RevisionView]
    """What the optimizer proposed, and where each stands."""
    findings: dict[str, int]
    """Guardrail findings by severity."""
    llm_calls: int
    """LLM calls made for the campaign."""


def campaign_report(db: Database, campaign_id: str) -> CampaignReport:
    """The report of one campaign, or `NotFound`."""
    camp = repo.get_campaign(db, campaign_id)
    return CampaignReport(
        campaign=camp,
        plan=repo.latest_plan(db, campaign_id),
        messages=outbox.status_counts(db, campaign_id),
        skipped=outbox.skip_counts(db, campaign_id),
        measurement=measure(db, campaign_id),
        revisions=list_revisions(db, campaign_id),
        findings=repo.count_findings(db, campaign_id),
        llm_calls=count_calls(db, campaign_id),
    )


def complete_if_closed(
    db: Database, campaign_id: str, *, window_days: float, as_of: datetime
) -> bool:
    """Complete an active campaign whose measurement window has closed as of `as_of` (nothing
    left to send, `window_days` past its last send), storing its final report. Idempotent:
    True only for the call that completed it."""
    if has_entries_to_come(repo.latest_plan(db, campaign_id), as_of):
        return False  # more runs or entries to come
    closes = measurement_closes_at(db, campaign_id, window_days=window_days)
    if closes is None or as_of < closes:
        return False
    report = campaign_report(db, campaign_id)
    report.campaign = report.campaign.model_copy(update={"status": CampaignStatus.COMPLETED})
    return complete_campaign(
        db,
        campaign_id,
        report=report.model_dump(mode="json"),
        closed_at=closes,
        evidence={
            "as_of": as_of.isoformat(),
            "window_days": window_days,
            "messages": report.messages,
            "treated_n": report.measurement.treated_n,
            "holdout_n": report.measurement.holdout_n,
        },
    )
