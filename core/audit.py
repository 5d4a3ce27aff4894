"""Audit repository: every agent and human decision is written here with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.contacts import mask_text
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


def list_decisions(
    db: Database, campaign_id: str, *, reveal_personal_data: bool = False
) -> list[Decision]:
    """The audit trail of a campaign, oldest first. E-mail addresses and phone numbers in its
    text and evidence are masked (`j***@example.com`, `***1014`) unless
    `reveal_personal_data`."""
    show = (lambda v: v) if reveal_personal_data else _masked
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
                reason=show(r.reason),
                evidence=show(r.evidence),
                at=r.at,
            )
            for r in rows
        ]


def latest_decisions_without_campaign(
    db: Database, actions: tuple[str, ...], limit: int = 50
) -> list[Decision]:
    """The latest audit rows without a campaign whose action is one of `actions` (e.g. user
    and token changes), newest first."""
    with db.session() as s:
        rows = s.scalars(
            select(DecisionRow)
            .where(DecisionRow.campaign_id.is_(None), DecisionRow.action.in_(actions))
            .order_by(DecisionRow.id.desc())
            .limit(limit)
        )
        return [
            Decision(
                campaign_id=None,
                agent=r.agent,
                action=r.action,
                reason=r.reason,
                evidence=r.evidence,
                at=r.at,
            )
            for r in rows
        ]


def _masked(value: Any) -> Any:
    """`value` with personal data masked in every string, at any depth."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value
