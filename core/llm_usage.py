"""LLM usage repository: the token usage of every LLM call, per campaign."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import Database, LLMUsageRow, utcnow


def count_calls(db: Database, campaign_id: str) -> int:
    """How many LLM calls a campaign made."""
    with db.session() as s:
        return int(
            s.scalar(select(func.count()).where(LLMUsageRow.campaign_id == campaign_id)) or 0
        )


def record_usage(
    db: Database,
    *,
    campaign_id: str | None,
    task: str,
    engine: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    attempts: int,
) -> None:
    """Store the token usage of one LLM call, charged to a campaign (or none)."""
    with db.session() as s:
        s.add(
            LLMUsageRow(
                campaign_id=campaign_id,
                task=task,
                engine=engine,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                attempts=attempts,
                at=utcnow(),
            )
        )


def usage_by_model(db: Database, campaign_id: str) -> list[tuple[str, str, str, int, int, int]]:
    """A campaign's LLM use per (model, engine, task): calls, prompt and completion tokens."""
    with db.session() as s:
        rows = s.execute(
            select(
                LLMUsageRow.model,
                LLMUsageRow.engine,
                LLMUsageRow.task,
                func.count(),
                func.coalesce(func.sum(LLMUsageRow.prompt_tokens), 0),
                func.coalesce(func.sum(LLMUsageRow.completion_tokens), 0),
            )
            .where(LLMUsageRow.campaign_id == campaign_id)
            .group_by(LLMUsageRow.model, LLMUsageRow.engine, LLMUsageRow.task)
            .order_by(LLMUsageRow.task, LLMUsageRow.engine)
        )
        return [(m, e, t, int(n), int(pt), int(ct)) for m, e, t, n, pt, ct in rows]
