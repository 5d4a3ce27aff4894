"""The audit trail: every agent and human decision is written here with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import DecisionRow, utcnow
from core.models import Decision


def record_decision(
    session: Session,
    *,
    campaign_id: str | None,
    agent: str,
    action: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> None:
    """Append one decision to the audit trail (in the caller's transaction)."""
    session.add(
        DecisionRow(
            campaign_id=campaign_id,
            agent=agent,
            action=action,
            reason=reason,
            evidence=evidence or {},
            at=utcnow(),
        )
    )


def list_decisions(session: Session, campaign_id: str) -> list[Decision]:
    """The audit trail of a campaign, oldest first."""
    rows = session.scalars(
        select(DecisionRow).where(DecisionRow.campaign_id == campaign_id).order_by(DecisionRow.id)
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
