"""Typed LangGraph states. Values are JSON-friendly so checkpoints stay portable; the database
holds the records (plans, variants, messages), the state holds what routing needs."""

from __future__ import annotations

from typing import Any, TypedDict


class CampaignState(TypedDict, total=False):
    """State of the campaign graph: brief → plan → content → guardrails → approval → activation."""

    campaign_id: str
    """The campaign (and graph thread) id."""
    brief: str
    """The marketer's brief, as written."""
    now: str
    """The campaign clock (ISO UTC) at submission; sends are scheduled from it."""
    follow_ups: list[dict[str, Any]]
    """What the marketer said since the brief (agents.planner.FollowUp as JSON): answers to
    questions and change requests, in order; the planner reads the brief with all of them."""
    review: bool
    """Pause after planning until the marketer submits the plan (the brief chat); otherwise go
    straight on to the content and the approval gate."""
    round: int
    """Submission round: 1, then one more each time a rejected plan is revised."""
    questions: list[str]
    """Clarifying questions; non-empty means the campaign waits for a better brief."""
    assumptions: list[str]
    """What the planner assumed where the brief was silent."""
    plan: dict[str, Any]
    """The plan (core.models.Plan as JSON)."""
    audience_size: int
    """People who matched the audience and can be contacted on a journey channel."""
    holdout_size: int
    """People reserved as the randomized holdout."""
    attempt: int
    """Content attempt number (1-based); bounded by MAX_CONTENT_ATTEMPTS."""
    variants: list[dict[str, Any]]
    """The variant templates (core.models.VariantTemplate as JSON)."""
    feedback: dict[str, list[dict[str, Any]]]
    """Blocking findings per variant id, sent back to the content agent."""
    warnings: list[dict[str, Any]]
    """Warn-level findings on the variants (with `variant_id`); they need a human at launch."""
    findings_total: int
    """Findings raised on all attempts."""
    approval_id: str
    """The launch approval, when one was needed."""
    decision: dict[str, Any]
    """The launch decision: approved (bool), by, comment."""
    activation: dict[str, Any]
    """What activation wrote to the outbox."""
    status: str
    """needs_input, awaiting_approval, activating, active, rejected or failed."""
    error: str
    """Why the campaign failed, in words a marketer can act on."""


class OptimizationState(TypedDict, total=False):
    """State of the optimization graph: measure → propose → apply or queue."""

    campaign_id: str
    """The campaign being optimized."""
    as_of: str
    """Clock of this run (ISO UTC)."""
    measurement: dict[str, Any]
    """Lift and per-arm results (agents.optimizer.Measurement as JSON)."""
    revisions: list[dict[str, Any]]
    """Proposed revisions (core.models.Revision as JSON)."""
    outcomes: list[dict[str, Any]]
    """What happened to each revision: applied, or queued with its approval id and reason."""
