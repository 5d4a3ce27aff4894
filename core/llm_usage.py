"""LLM usage repository: the token usage of every LLM call, per campaign."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import Database, LLMUsageRow


def count_calls(db: Database, campaign_id: str) -> int:
    """How many LLM calls a campaign made."""
    with db.session() as s:
        return int(
            s.scalar(select(func.count()).where(LLMUsageRow.campaign_id == campaign_id)) or 0
        )
