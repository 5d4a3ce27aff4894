"""Draft conversations: the brief chat of a campaign, one message per row, oldest first.

A draft is one campaign graph thread; this table keeps what was said in it (the brief, the
planner's questions and plan summaries, the marketer's answers and change requests, the
approver's decisions) so the pages, the API and the CLI show the same thread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.db import Database, DraftMessageRow, utcnow

Role = Literal["marketer", "planner", "approver"]
Kind = Literal[
    "brief", "answer", "change", "submit", "questions", "plan", "waiting", "decision", "error"
]


class DraftMessage(BaseModel):
    """One message of a draft's conversation."""

    id: int
    """Position in the store (increasing)."""
    campaign_id: str
    """The draft (campaign) it belongs to."""
    role: Role
    """Who speaks: the marketer, the planner (the agents) or an approver."""
    kind: Kind
    """What it is: a brief, answer, change request, submission, questions, plan summary,
    waiting note, decision or error."""
    text: str
    """The message in plain words."""
    author: str | None = None
    """The logged-in user (people's messages)."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Structured detail for the pages (questions, plan facts, approval id)."""
    created_at: datetime
    """When it was said."""


def add_message(
    db: Database,
    campaign_id: str,
    *,
    role: Role,
    kind: Kind,
    text: str,
    author: str | None = None,
    data: dict[str, Any] | None = None,
) -> DraftMessage:
    """Append a message to a draft's conversation."""
    with db.session() as s:
        row = DraftMessageRow(
            campaign_id=campaign_id,
            role=role,
            kind=kind,
            text=text,
            author=author,
            data=data or {},
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
        return _view(row)


def list_messages(db: Database, campaign_id: str) -> list[DraftMessage]:
    """A draft's conversation, oldest first."""
    with db.session() as s:
        rows = s.scalars(
            select(DraftMessageRow)
            .where(DraftMessageRow.campaign_id == campaign_id)
            .order_by(DraftMessageRow.id)
        ).all()
        return [_view(r) for r in rows]


def _view(r: DraftMessageRow) -> DraftMessage:
    return DraftMessage(
        id=r.id,
        campaign_id=r.campaign_id,
        role=r.role,  # type: ignore[arg-type]
        kind=r.kind,  # type: ignore[arg-type]
        text=r.text,
        author=r.author,
        data=dict(r.data or {}),
        created_at=r.created_at,
    )
