"""Briefs: the chat-style entry point."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AppDeps, Writer
from graphs.operations import BriefResult, submit_brief

router = APIRouter(tags=["briefs"])


class BriefCreate(BaseModel):
    """A marketer's brief."""

    text: str = Field(min_length=1, max_length=5000)
    """The brief, in plain words."""


@router.post("/briefs", response_model=BriefResult, status_code=201)
def create_brief(body: BriefCreate, deps: AppDeps, user: Writer) -> BriefResult:
    """Submit a brief: returns clarifying questions, or a plan waiting for approval."""
    try:
        return submit_brief(deps, body.text, submitted_by=user.name)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
