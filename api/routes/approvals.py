"""Approvals: the human queue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AppDeps, Decider
from core import campaigns as repo
from core.models import ApprovalStatus
from core.users import User
from graphs.operations import DecisionResult, FourEyesError, decide
from graphs.runtime import Deps

router = APIRouter(tags=["approvals"])


class DecisionCreate(BaseModel):
    """A human decision on an approval. Who decides is the logged-in user, never a field."""

    comment: str | None = Field(default=None, max_length=2000)
    """Why; required when rejecting."""


@router.get("/approvals", response_model=list[repo.ApprovalView])
def list_approvals(
    deps: AppDeps, status: ApprovalStatus | None = ApprovalStatus.PENDING
) -> list[repo.ApprovalView]:
    """Approvals, pending by default."""
    return repo.list_approvals(deps.db, status=status)


@router.get("/approvals/{approval_id}", response_model=repo.ApprovalView)
def read_approval(approval_id: str, deps: AppDeps) -> repo.ApprovalView:
    """One approval with its evidence."""
    return repo.get_approval(deps.db, approval_id)


def decide_as(
    deps: Deps, user: User, approval_id: str, *, approved: bool, comment: str | None
) -> DecisionResult:
    """Carry out a decision as the logged-in user (the API and the pages): a rejection needs a
    comment (422), four-eyes refuses the campaign's submitter (403), a decided approval is 409."""
    if not approved and not comment:
        raise HTTPException(status_code=422, detail="Say why you reject (comment): it is audited.")
    try:
        return decide(deps, approval_id, approved=approved, decided_by=user.name, comment=comment)
    except repo.NotFound:
        raise
    except FourEyesError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.post("/approvals/{approval_id}/approve", response_model=DecisionResult)
def approve(approval_id: str, body: DecisionCreate, deps: AppDeps, user: Decider) -> DecisionResult:
    """Approve: a launch resumes the campaign graph; a revision is applied."""
    return decide_as(deps, user, approval_id, approved=True, comment=body.comment)


@router.post("/approvals/{approval_id}/reject", response_model=DecisionResult)
def reject(approval_id: str, body: DecisionCreate, deps: AppDeps, user: Decider) -> DecisionResult:
    """Reject, with a comment saying why."""
    return decide_as(deps, user, approval_id, approved=False, comment=body.comment)
