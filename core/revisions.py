"""Revision repository: what the optimizer proposed, whether it applied or waits for a human."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from core.audit import decision_row
from core.db import Database, RevisionRow
from core.models import Revision, RevisionStatus


def record_revision(
    db: Database,
    revision_id: str,
    campaign_id: str,
    revision: Revision,
    *,
    status: RevisionStatus,
    approval_id: str | None,
    reason: str,
) -> None:
    """Store a proposed revision and audit the optimizer's decision on it, in one transaction."""
    with db.session() as s:
        s.add(
            RevisionRow(
                id=revision_id,
                campaign_id=campaign_id,
                kind=revision.kind,
                description=revision.description,
                params=revision.params,
                risk=revision.risk,
                evidence=revision.evidence,
                status=status,
                approval_id=approval_id,
            )
        )
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent="optimizer",
                action=f"revision_{status}",
                reason=f"{revision.description} {reason}",
                evidence={"revision_id": revision_id, "risk": revision.risk, **revision.evidence},
            )
        )


def set_revision_status(db: Database, revision_id: str | None, status: RevisionStatus) -> None:
    """Move a stored revision to a new status; an unknown (or no) id changes nothing."""
    if not revision_id:
        return
    with db.session() as s:
        row = s.get(RevisionRow, revision_id)
        if row is not None:
            row.status = status


class RevisionView(BaseModel):
    """A stored revision as reports show it."""

    id: str
    """Revision id."""
    kind: str
    """What kind of change."""
    description: str
    """Plain-words summary."""
    risk: float
    """0 = trivial, 1 = large."""
    status: RevisionStatus
    """Where it stands."""
    approval_id: str | None
    """The approval it waits for (queued revisions)."""


def list_revisions(db: Database, campaign_id: str) -> list[RevisionView]:
    """The revisions of a campaign, in storage order."""
    with db.session() as s:
        return [
            RevisionView(
                id=r.id,
                kind=r.kind,
                description=r.description,
                risk=r.risk,
                status=RevisionStatus(r.status),
                approval_id=r.approval_id,
            )
            for r in s.scalars(select(RevisionRow).where(RevisionRow.campaign_id == campaign_id))
        ]
