"""Audit repository: every agent and human decision is written here with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.db import Database, DecisionRow, utcnow
from core.models import Decision


def decision_row(
    *,
    campaign_id: str | None,
    agent: str,
    action: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> DecisionRow:
    """An audit row for a repository to add in its own transaction, next to what it records."""
    return DecisionRow(
        campaign_id=campaign_id,
        agent=agent,
        action=action,
        reason=reason,
        evidence=evidence or {},
        at=utcnow(),
    )


def record_decision(
    db: Database,
    *,
    campaign_id: str | None,
    agent: str,
    action: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> None:
    """Append one decision to the audit trail."""
    with db.session() as s:
        s.add(
            decision_row(
                campaign_id=campaign_id,
                agent=agent,
                action=action,
                reason=reason,
                evidence=evidence,
            )
        )


def list_decisions(db: Database, campaign_id: str) -> list[Decision]:
    """The audit trail of a campaign, oldest first."""
    with db.session() as s:
        rows = s.scalars(
            select(DecisionRow)
            .where(DecisionRow.campaign_id == campaign_id)
            .order_by(DecisionRow.id)
        )
        return [
            Decision(
                campaign_id=r.campaign_id,
                agent=r.agent,
                action=r.action,
                reason=r.reason,
                evidence=r.evidence,
                at=r.at,
            )
            for r in rows
        ]
