"""Campaign controls: pause, resume and stop a live campaign; its final report.

Who asks is the logged-in user (a marketer or above), never a field of the request; every change
is in the audit trail.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AppDeps, Reader, Writer
from core import campaigns as repo
from core.lifecycle import (
    LifecycleChange,
    TransitionError,
    final_report,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from core.users import User

router = APIRouter(tags=["campaigns"])


class LifecycleRequest(BaseModel):
    """Why the change is asked for (audited with the logged-in user's name)."""

    reason: str = Field(default="", max_length=2000)
    """Why, in a sentence."""


def _apply(
    action: Any, deps: AppDeps, user: User, campaign_id: str, body: LifecycleRequest
) -> LifecycleChange:
    try:
        change: LifecycleChange = action(deps.db, campaign_id, by=user.name, reason=body.reason)
    except TransitionError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return change


@router.post("/campaigns/{campaign_id}/pause", response_model=LifecycleChange)
def pause(campaign_id: str, body: LifecycleRequest, deps: AppDeps, user: Writer) -> LifecycleChange:
    """Hold an active campaign: its messages stay scheduled and none is sent until resumed."""
    return _apply(pause_campaign, deps, user, campaign_id, body)


@router.post("/campaigns/{campaign_id}/resume", response_model=LifecycleChange)
def resume(
    campaign_id: str, body: LifecycleRequest, deps: AppDeps, user: Writer
) -> LifecycleChange:
    """Let a paused campaign send again; what fell due meanwhile goes out at the next dispatch."""
    return _apply(resume_campaign, deps, user, campaign_id, body)


@router.post("/campaigns/{campaign_id}/stop", response_model=LifecycleChange)
def stop(campaign_id: str, body: LifecycleRequest, deps: AppDeps, user: Writer) -> LifecycleChange:
    """End an active or paused campaign: its scheduled messages are skipped (`campaign_stopped`)."""
    return _apply(stop_campaign, deps, user, campaign_id, body)


@router.get("/campaigns/{campaign_id}/final-report")
def read_final_report(campaign_id: str, deps: AppDeps, _user: Reader) -> dict[str, Any]:
    """The report stored when the campaign completed (404 until it has)."""
    camp = repo.get_campaign(deps.db, campaign_id)
    stored = final_report(deps.db, campaign_id)
    if stored is None:
        raise HTTPException(
            status_code=404,
            detail=f"Campaign {campaign_id} is {camp.status.value}; its final report is stored "
            "when its measurement window closes.",
        )
    return stored
