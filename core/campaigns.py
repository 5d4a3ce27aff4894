"""Campaign repository: campaigns, plans, assignments, variants, findings and approvals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, insert, select, update

from core.db import (
    ApprovalRow,
    AssignmentRow,
    CampaignRow,
    Database,
    FindingRow,
    PlanRow,
    VariantRow,
    new_id,
    rowcount,
    utcnow,
)
from core.models import ApprovalStatus, CampaignStatus, Finding, Plan, VariantTemplate


class NotFound(LookupError):
    """A record does not exist; the message names it."""


class ApprovalView(BaseModel):
    """An approval as people and the API see it."""

    id: str
    """Approval id."""
    campaign_id: str
    """Campaign."""
    campaign_name: str
    """Campaign name."""
    kind: str
    """`launch` or `revision`."""
    subject: str
    """What is to be approved."""
    reason: str
    """Why it needs a human."""
    evidence: dict[str, Any]
    """The numbers and copy behind it."""
    status: ApprovalStatus
    """pending, approved or rejected."""
    requested_by: str
    """The agent that asked."""
    decided_by: str | None
    """Who decided."""
    comment: str | None
    """The decider's comment."""
    created_at: str
    """When it was requested (ISO)."""


class CampaignView(BaseModel):
    """A campaign summary."""

    id: str
    """Campaign id."""
    name: str
    """Campaign name."""
    brief: str
    """The marketer's brief."""
    status: CampaignStatus
    """Where the campaign stands."""
    engine: str
    """offline or openai."""
    thread_id: str
    """Graph thread."""
    created_by: str | None = None
    """The user who submitted the brief."""
    created_at: str
    """When it was created (ISO)."""


def create_campaign(
    db: Database, *, brand_id: str, brief: str, engine: str, created_by: str | None = None
) -> CampaignView:
    """Store a new campaign for a brief; its graph thread id is the campaign id."""
    cid = new_id("cmp")
    with db.session() as s:
        row = CampaignRow(
            id=cid,
            brand_id=brand_id,
            brief=brief,
            status=CampaignStatus.DRAFT,
            thread_id=cid,
            engine=engine,
            created_by=created_by,
        )
        s.add(row)
        s.flush()
        return _campaign_view(row)


def get_campaign(db: Database, campaign_id: str) -> CampaignView:
    """One campaign, or NotFound."""
    with db.session() as s:
        row = s.get(CampaignRow, campaign_id)
        if row is None:
            raise NotFound(f"No campaign {campaign_id!r}. List campaigns with `autocmo campaigns`.")
        return _campaign_view(row)


def list_campaigns(db: Database) -> list[CampaignView]:
    """All campaigns, newest first."""
    with db.session() as s:
        rows = s.scalars(select(CampaignRow).order_by(CampaignRow.created_at.desc())).all()
        return [_campaign_view(r) for r in rows]


def campaign_ids_with_status(db: Database, status: CampaignStatus) -> list[str]:
    """Ids of the campaigns in a status."""
    with db.session() as s:
        return list(s.scalars(select(CampaignRow.id).where(CampaignRow.status == status)))


def set_campaign_status(
    db: Database, campaign_id: str, status: CampaignStatus, *, name: str | None = None
) -> None:
    """Change a campaign's status (and optionally its name)."""
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if name:
        values["name"] = name
    with db.session() as s:
        s.execute(update(CampaignRow).where(CampaignRow.id == campaign_id).values(**values))


def _campaign_view(r: CampaignRow) -> CampaignView:
    return CampaignView(
        id=r.id,
        name=r.name,
        brief=r.brief,
        status=CampaignStatus(r.status),
        engine=r.engine,
        thread_id=r.thread_id,
        created_by=r.created_by,
        created_at=r.created_at.isoformat(),
    )


def save_plan(db: Database, campaign_id: str, plan: Plan) -> int:
    """Store a new plan version; returns its version number."""
    with db.session() as s:
        latest = s.scalar(
            select(func.max(PlanRow.version)).where(PlanRow.campaign_id == campaign_id)
        )
        version = int(latest or 0) + 1
        s.add(PlanRow(campaign_id=campaign_id, version=version, plan=plan.model_dump(mode="json")))
        return version


def latest_plan(db: Database, campaign_id: str) -> Plan | None:
    """The campaign's current plan."""
    with db.session() as s:
        row = s.scalars(
            select(PlanRow)
            .where(PlanRow.campaign_id == campaign_id)
            .order_by(PlanRow.version.desc())
            .limit(1)
        ).first()
        return Plan.model_validate(row.plan) if row else None


def save_assignments(db: Database, campaign_id: str, rows: Sequence[tuple[str, str, str]]) -> None:
    """Store (customer_id, group, audience) for a campaign, replacing any earlier assignment."""
    with db.session() as s:
        s.execute(delete(AssignmentRow).where(AssignmentRow.campaign_id == campaign_id))
        for i in range(0, len(rows), 5000):
            s.execute(
                insert(AssignmentRow),
                [
                    {"campaign_id": campaign_id, "customer_id": c, "group": g, "audience": a}
                    for c, g, a in rows[i : i + 5000]
                ],
            )


def assignments(db: Database, campaign_id: str, group: str | None = None) -> list[tuple[str, str]]:
    """(customer_id, group) of a campaign, sorted by customer id."""
    with db.session() as s:
        q = select(AssignmentRow.customer_id, AssignmentRow.group).where(
            AssignmentRow.campaign_id == campaign_id
        )
        if group:
            q = q.where(AssignmentRow.group == group)
        return [(c, g) for c, g in s.execute(q.order_by(AssignmentRow.customer_id))]


def save_variants(db: Database, campaign_id: str, variants: Sequence[VariantTemplate]) -> None:
    """Insert or replace the variants of a campaign."""
    with db.session() as s:
        for v in variants:
            row = s.get(VariantRow, v.id)
            data = v.model_dump(mode="json")
            if row is None:
                s.add(VariantRow(campaign_id=campaign_id, **data))
            else:
                for k, val in data.items():
                    setattr(row, k, val)


def delete_variants(db: Database, campaign_id: str) -> None:
    """Remove a campaign's variants (its plan was revised before launch; findings stay)."""
    with db.session() as s:
        s.execute(delete(VariantRow).where(VariantRow.campaign_id == campaign_id))


def load_variants(db: Database, campaign_id: str) -> list[VariantTemplate]:
    """The variants of a campaign, by step and arm."""
    with db.session() as s:
        rows = s.scalars(
            select(VariantRow)
            .where(VariantRow.campaign_id == campaign_id)
            .order_by(VariantRow.step_id, VariantRow.arm)
        ).all()
        return [
            VariantTemplate(
                id=r.id,
                step_id=r.step_id,
                arm=r.arm,
                channel=r.channel,  # type: ignore[arg-type]
                subject=r.subject,
                body=r.body,
                angle=r.angle,
                weight=r.weight,
                status=r.status,  # type: ignore[arg-type]
                translations=r.translations or {},
            )
            for r in rows
        ]


def save_findings(
    db: Database,
    campaign_id: str,
    variant_id: str | None,
    attempt: int,
    findings: Sequence[Finding],
) -> None:
    """Store guardrail findings for a variant attempt."""
    if not findings:
        return
    with db.session() as s:
        s.execute(
            insert(FindingRow),
            [
                {
                    "campaign_id": campaign_id,
                    "variant_id": variant_id,
                    "attempt": attempt,
                    "rule_id": f.rule_id,
                    "severity": f.severity.value,
                    "span": f.span,
                    "explanation": f.explanation,
                    "suggested_fix": f.suggested_fix,
                    "field": f.field,
                    "created_at": utcnow(),
                }
                for f in findings
            ],
        )


def count_findings(db: Database, campaign_id: str) -> dict[str, int]:
    """Findings of a campaign by severity."""
    with db.session() as s:
        rows = s.execute(
            select(FindingRow.severity, func.count())
            .where(FindingRow.campaign_id == campaign_id)
            .group_by(FindingRow.severity)
        ).all()
        return {sev: int(n) for sev, n in rows}


def request_approval(
    db: Database,
    *,
    campaign_id: str,
    kind: str,
    subject: str,
    reason: str,
    evidence: dict[str, Any],
    requested_by: str,
    payload: dict[str, Any] | None = None,
    approval_id: str | None = None,
) -> str:
    """Create a pending approval (idempotent on `approval_id`); returns its id."""
    aid = approval_id or new_id("apr")
    with db.session() as s:
        if s.get(ApprovalRow, aid) is None:
            s.add(
                ApprovalRow(
                    id=aid,
                    campaign_id=campaign_id,
                    kind=kind,
                    subject=subject,
                    reason=reason,
                    evidence=evidence,
                    payload=payload or {},
                    status="pending",
                    requested_by=requested_by,
                )
            )
    return aid


def list_approvals(
    db: Database, *, status: ApprovalStatus | None = ApprovalStatus.PENDING
) -> list[ApprovalView]:
    """Approvals (pending by default), oldest first."""
    with db.session() as s:
        q = select(ApprovalRow, CampaignRow.name).join(
            CampaignRow, CampaignRow.id == ApprovalRow.campaign_id, isouter=True
        )
        if status is not None:
            q = q.where(ApprovalRow.status == status.value)
        rows = s.execute(q.order_by(ApprovalRow.created_at)).all()
        return [_approval_view(r, name or "") for r, name in rows]


def get_approval(db: Database, approval_id: str) -> ApprovalView:
    """One approval, or NotFound."""
    with db.session() as s:
        row = s.get(ApprovalRow, approval_id)
        if row is None:
            raise NotFound(
                f"No approval {approval_id!r}. List pending approvals with `autocmo approvals`."
            )
        camp = s.get(CampaignRow, row.campaign_id)
        return _approval_view(row, camp.name if camp else "")


def decide_approval(
    db: Database, approval_id: str, *, approved: bool, decided_by: str, comment: str | None
) -> ApprovalView:
    """Record a human decision on a pending approval. Deciding twice is an error.

    The decision is one conditional update (`WHERE status = 'pending'`), so of two decisions
    arriving at the same moment exactly one wins, also across processes on PostgreSQL."""
    status = (ApprovalStatus.APPROVED if approved else ApprovalStatus.REJECTED).value
    with db.session() as s:
        res = s.execute(
            update(ApprovalRow)
            .where(
                ApprovalRow.id == approval_id,
                ApprovalRow.status == ApprovalStatus.PENDING.value,
            )
            .values(status=status, decided_by=decided_by, comment=comment, decided_at=utcnow())
        )
        row = s.get(ApprovalRow, approval_id, populate_existing=True)
        if row is None:
            raise NotFound(
                f"No approval {approval_id!r}. List pending approvals with `autocmo approvals`."
            )
        if rowcount(res) != 1:
            raise ValueError(
                f"Approval {approval_id} was already {row.status} by {row.decided_by}; "
                "nothing changed."
            )
        camp = s.get(CampaignRow, row.campaign_id)
        return _approval_view(row, camp.name if camp else "")


def approval_payload(db: Database, approval_id: str) -> dict[str, Any]:
    """What applies when the approval is granted."""
    with db.session() as s:
        row = s.get(ApprovalRow, approval_id)
        if row is None:
            raise NotFound(f"No approval {approval_id!r}.")
        return dict(row.payload)


def _approval_view(r: ApprovalRow, campaign_name: str) -> ApprovalView:
    return ApprovalView(
        id=r.id,
        campaign_id=r.campaign_id,
        campaign_name=campaign_name,
        kind=r.kind,
        subject=r.subject,
        reason=r.reason,
        evidence=r.evidence,
        status=ApprovalStatus(r.status),
        requested_by=r.requested_by,
        decided_by=r.decided_by,
        comment=r.comment,
        created_at=r.created_at.isoformat(),
    )


def add_assignments(db: Database, campaign_id: str, rows: Sequence[tuple[str, str, str]]) -> int:
    """Add (customer_id, group, audience) to a campaign, keeping everyone already assigned as
    they are (a recurring run's new members); returns how many were added."""
    with db.session() as s:
        known = set(
            s.scalars(
                select(AssignmentRow.customer_id).where(AssignmentRow.campaign_id == campaign_id)
            )
        )
        fresh = [
            {"campaign_id": campaign_id, "customer_id": c, "group": g, "audience": a}
            for c, g, a in rows
            if c not in known
        ]
        for i in range(0, len(fresh), 5000):
            s.execute(insert(AssignmentRow), fresh[i : i + 5000])
        return len(fresh)
