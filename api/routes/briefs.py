"""Briefs: the chat-style entry point. A brief opens a draft (one campaign graph thread); the
marketer's answers and change requests continue the same draft, and a reviewed plan is
submitted for approval."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AppDeps, Reader, Writer
from core import campaigns as repo
from core.drafts import DraftMessage, list_messages
from core.models import CampaignStatus
from graphs.operations import (
    BriefResult,
    DraftConflict,
    reply_to_draft,
    submit_brief,
    submit_draft,
)

router = APIRouter(tags=["briefs"])


class BriefCreate(BaseModel):
    """A marketer's brief."""

    text: str = Field(min_length=1, max_length=5000)
    """The brief, in plain words."""
    review: bool = False
    """Stop at the plan so the marketer can ask for changes and then submit it
    (`POST /briefs/{id}/submit`); otherwise the plan goes straight to the approval gate."""


class DraftMessageCreate(BaseModel):
    """The marketer's next message in a draft: an answer or a change request."""

    text: str = Field(min_length=1, max_length=2000)
    """E.g. the answer to the planner's question, "SMS only" or "drop the discount"."""


class DraftPublic(BaseModel):
    """A draft: its campaign's status and its conversation."""

    campaign_id: str
    """The campaign (the draft)."""
    status: CampaignStatus
    """Where the campaign stands."""
    messages: list[DraftMessage]
    """The conversation, oldest first."""


@router.post("/briefs", response_model=BriefResult, status_code=201)
def create_brief(body: BriefCreate, deps: AppDeps, user: Writer) -> BriefResult:
    """Submit a brief: returns clarifying questions, the plan for review, or a plan waiting
    for approval."""
    try:
        return submit_brief(deps, body.text, submitted_by=user.name, review=body.review)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.get("/briefs/{campaign_id}", response_model=DraftPublic)
def read_draft(campaign_id: str, deps: AppDeps, _user: Reader) -> DraftPublic:
    """A draft's conversation: brief, questions, answers, changes, plan summaries, decisions."""
    camp = repo.get_campaign(deps.db, campaign_id)
    return DraftPublic(
        campaign_id=camp.id, status=camp.status, messages=list_messages(deps.db, camp.id)
    )


@router.post("/briefs/{campaign_id}/messages", response_model=BriefResult)
def add_draft_message(
    campaign_id: str, body: DraftMessageCreate, deps: AppDeps, user: Writer
) -> BriefResult:
    """Continue a draft: answer the planner's questions (the graph resumes, nothing is
    re-typed), ask for a change to a plan under review, or revise a rejected plan (it goes to
    a new approval). 409 while the plan waits for an approver or once it is live."""
    try:
        return reply_to_draft(deps, campaign_id, body.text, by=user.name)
    except DraftConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc


@router.post("/briefs/{campaign_id}/submit", response_model=BriefResult)
def submit_reviewed_draft(campaign_id: str, deps: AppDeps, user: Writer) -> BriefResult:
    """Submit a reviewed plan for approval (four-eyes: the submitter never approves it)."""
    try:
        return submit_draft(deps, campaign_id, by=user.name)
    except DraftConflict as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
