"""Campaigns: list, read, report."""

from __future__ import annotations

from fastapi import APIRouter

from agents.reporting import CampaignReport, campaign_report
from api.deps import AppDeps
from core import campaigns as repo
from core.audit import list_decisions
from core.models import Decision

router = APIRouter(tags=["campaigns"])


@router.get("/campaigns", response_model=list[repo.CampaignView])
def list_campaigns(deps: AppDeps) -> list[repo.CampaignView]:
    """All campaigns, newest first."""
    return repo.list_campaigns(deps.db)


@router.get("/campaigns/{campaign_id}", response_model=CampaignReport)
def read_campaign(campaign_id: str, deps: AppDeps) -> CampaignReport:
    """A campaign with its plan, outbox counts, lift against the holdout, arms and revisions."""
    return campaign_report(deps.db, campaign_id, prices=deps.settings.llm_prices)


@router.get("/campaigns/{campaign_id}/decisions", response_model=list[Decision])
def campaign_decisions(campaign_id: str, deps: AppDeps) -> list[Decision]:
    """The audit trail of a campaign."""
    repo.get_campaign(deps.db, campaign_id)
    return list_decisions(deps.db, campaign_id)
