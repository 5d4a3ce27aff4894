"""An optimizer revision in plain words for the approval page: what changes (before → after)
and the evidence behind it, read from the revision the optimizer stored with its approval."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents.planner import offer_words
from core.models import Plan, Revision, VariantTemplate


class Change(BaseModel):
    """One thing a revision changes."""

    what: str
    """What it is about, e.g. `Share of future sends, arm B`."""
    before: str
    """Its value now."""
    after: str
    """Its value once approved."""


class EvidenceRow(BaseModel):
    """The results of one arm behind a revision."""

    arm: str
    """Arm label."""
    people: int
    """People whose first message used this arm."""
    conversions: int
    """Of them, how many bought."""
    rate: float
    """Conversion rate (fraction)."""
    p_best: float | None = None
    """Probability that the arm is the best (Thompson sampling), when given."""
    vs_best: str = ""
    """Its always-valid interval against the leading arm, in words."""


class RevisionDiff(BaseModel):
    """A revision as an approver reads it."""

    kind: str
    """What kind of change, in words."""
    description: str
    """The optimizer's own summary."""
    risk: float
    """0 = trivial, 1 = large."""
    changes: list[Change]
    """Before → after, one row per changed value."""
    evidence: list[EvidenceRow]
    """Per-arm results."""
    method: str
    """How the numbers were computed."""


_KINDS = {
    "shift_allocation": "Shift future sends between arms",
    "pause_arm": "Pause an arm",
    "change_send_hour": "Change the send hour",
    "change_offer": "Change the offer",
    "resize_audience": "Grow or shrink the audience",
}


def describe_revision(
    payload: dict[str, Any], plan: Plan | None, variants: list[VariantTemplate]
) -> RevisionDiff | None:
    """The plain-words diff of the revision in an approval's payload (None when there is
    none); `plan` and `variants` are the campaign's current ones, the "before"."""
    raw = payload.get("revision")
    if not raw:
        return None
    rev = Revision.model_validate(raw)
    return RevisionDiff(
        kind=_KINDS.get(rev.kind, rev.kind.replace("_", " ")),
        description=rev.description,
        risk=rev.risk,
        changes=_changes(rev, plan, variants),
        evidence=_evidence(rev.evidence),
        method=str(rev.evidence.get("method", "")),
    )


def _current_shares(variants: list[VariantTemplate]) -> dict[str, float]:
    """Each arm's share of sends now (its weight over the total, per arm label)."""
    weights: dict[str, float] = {}
    for v in variants:
        weights[v.arm] = v.weight
    total = sum(weights.values()) or 1.0
    return {a: w / total for a, w in weights.items()}


def _changes(rev: Revision, plan: Plan | None, variants: list[VariantTemplate]) -> list[Change]:
    p = rev.params
    if rev.kind == "shift_allocation" and isinstance(p.get("weights"), dict):
        before = p.get("previous_weights") or _current_shares(variants)
        after = {str(a): float(w) for a, w in p["weights"].items()}
        return [
            Change(
                what=f"Share of future sends, arm {arm}",
                before=f"{float(before.get(arm, 0.0)):.0%}",
                after=f"{after[arm]:.0%}"
                + (" (winner: every send)" if p.get("winner") == arm else ""),
            )
            for arm in sorted(after)
        ]
    if rev.kind == "change_send_hour" and "hour" in p:
        was = f"{plan.send_hour_local}:00" if plan else "as planned"
        return [
            Change(
                what="Send hour, in each person's time zone", before=was, after=f"{p['hour']}:00"
            )
        ]
    if rev.kind == "change_offer" and "percent" in p:
        offer = plan.objective.offer if plan else None
        was = offer_words(offer) if offer and offer.kind != "none" else "no discount"
        return [Change(what="Offer", before=was, after=f"{float(p['percent']):g} % off")]
    if rev.kind == "pause_arm" and "arm" in p:
        return [Change(what=f"Arm {p['arm']}", before="sending", after="paused")]
    return [  # a kind without a dedicated wording: its parameters as given
        Change(what=str(k).replace("_", " "), before="—", after=str(v)) for k, v in p.items()
    ]


def _evidence(ev: dict[str, Any]) -> list[EvidenceRow]:
    arms = ev.get("arms")
    if not isinstance(arms, dict):
        return []
    p_best = ev.get("p_best") or {}
    versus = ev.get("always_valid_vs_best") or {}
    leader = next((str(a) for a in arms if a not in versus), "the leader")
    rows = []
    for arm, a in sorted(arms.items()):
        vs = versus.get(arm)
        rows.append(
            EvidenceRow(
                arm=str(arm),
                people=int(a.get("people", 0)),
                conversions=int(a.get("conversions", 0)),
                rate=float(a.get("conversion_rate", 0.0)),
                p_best=float(p_best[arm]) if arm in p_best else None,
                vs_best=_versus(leader, vs) if isinstance(vs, dict) else "the leading arm",
            )
        )
    return rows


def _versus(leader: str, vs: dict[str, float]) -> str:
    """How far an arm is behind the leader, with the always-valid interval, in words."""
    low, high = vs["always_valid_low"] * 100, vs["always_valid_high"] * 100
    words = (
        f"{vs['lift'] * 100:.2f} points behind {leader} "
        f"(always-valid 95 % interval {low:+.2f} to {high:+.2f})"
    )
    return words + (": not a clear gap yet" if low <= 0 <= high else ": a clear gap")
