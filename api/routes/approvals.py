"""Approvals: the human queue."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import AppDeps
from core import campaigns as repo
from core.models import ApprovalStatus
from graphs.operations import DecisionResult, decide

router = APIRouter(tags=["approvals"])


class DecisionCreate(BaseModel):
    """A human decision on an approval."""

    decided_by: str = Field(min_length=1, max_length=200)
    """Who decides (audited)."""
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


def _decide(
    deps: AppDeps, approval_id: str, body: DecisionCreate, approved: bool
) -> DecisionResult:
    try:
        return decide(
            deps, approval_id, approved=approved, decided_by=body.decided_by, comment=body.comment
        )
    except repo.NotFound:
        raise
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc


@router.post("/approvals/{approval_id}/approve", response_model=DecisionResult)
def approve(approval_id: str, body: DecisionCreate, deps: AppDeps) -> DecisionResult:
    """Approve: a launch resumes the campaign graph; a revision is applied."""
    return _decide(deps, approval_id, body, True)


@router.post("/approvals/{approval_id}/reject", response_model=DecisionResult)
def reject(approval_id: str, body: DecisionCreate, deps: AppDeps) -> DecisionResult:
    """Reject, with a comment saying why."""
    if not body.comment:
        raise HTTPException(status_code=422, detail="Say why you reject (comment): it is audited.")
    return _decide(deps, approval_id, body, False)
