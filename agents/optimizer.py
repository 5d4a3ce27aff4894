"""The optimizer agent: measure a campaign against its holdout, and revise the strategy.

Measurement is incremental: treated vs randomized holdout, with 95 % intervals, and per-arm
results. Revisions (today: shifting allocation between arms by Thompson sampling) carry a risk
score and their evidence; the brand's approval policy decides whether one applies at once or
waits for a human in the approval queue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from brand_guardrails.kit import BrandKit
from brand_guardrails.policy import revision_review
from core.db import Database
from core.models import Revision, VariantTemplate
from core.outcomes import observations
from tools.statistics import LiftEstimate, mean_lift, proportion_lift, thompson_shares

MIN_SENDS_PER_ARM = 200
"""Below this many sends in an arm, no allocation change is proposed."""
MIN_SHARE = 0.05
"""No arm is starved completely: it keeps this share so the test keeps learning."""
MIN_SHIFT = 0.02
"""Changes of allocation smaller than this are not worth a revision."""


class ArmStats(BaseModel):
    """Results of one arm, pooled over the journey's steps."""

    arm: str
    """Arm label (A, B …)."""
    angle: str
    """Creative angle of the arm."""
    sends: int
    """Messages sent."""
    opens: int
    """People who opened."""
    clicks: int
    """People who clicked."""
    conversions: int
    """Conversions attributed to this arm's messages."""
    revenue: float
    """Revenue attributed to this arm's messages."""
    weight_share: float
    """Current share of future sends."""

    @property
    def conversion_rate(self) -> float:
        """Conversions per send."""
        return self.conversions / self.sends if self.sends else 0.0


class Measurement(BaseModel):
    """A campaign's results: incremental lift against the holdout, and per arm."""

    campaign_id: str
    """Campaign."""
    treated_n: int
    """People in the treated group (intent to treat)."""
    holdout_n: int
    """People in the holdout."""
    messages_sent: int
    """Messages sent so far."""
    conversions_treated: int
    """Treated people who converted."""
    conversions_holdout: int
    """Holdout people who converted."""
    conversion_lift: LiftEstimate | None = None
    """Treated − holdout conversion rate, 95 % interval; None while a group is empty."""
    revenue_lift: LiftEstimate | None = None
    """Treated − holdout revenue per person, 95 % interval."""
    arms: list[ArmStats] = Field(default_factory=list)
    """Per-arm results."""


def measure(db: Database, campaign_id: str) -> Measurement:
    """Read the outcomes of a campaign and compute lift and per-arm results."""
    obs = observations(db, campaign_id)
    groups, converted, sent = obs.groups, obs.converted, obs.sent_arms
    per_arm: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for arm in sent.values():
        per_arm[arm]["sends"] += 1
    for mid, kind, value in obs.message_outcomes:
        msg_arm = sent.get(mid)
        if msg_arm is None:
            continue
        per_arm[msg_arm][kind] += 1
        if kind == "converted":
            per_arm[msg_arm]["revenue"] += value
    weights: dict[str, float] = {}
    angles: dict[str, str] = {}
    for v in obs.variants:
        weights[v.arm] = v.weight
        angles.setdefault(v.arm, v.angle)

    treated = [c for c, g in groups.items() if g == "treated"]
    holdout = [c for c, g in groups.items() if g == "holdout"]
    conv_t = sum(1 for c in treated if c in converted)
    conv_h = sum(1 for c in holdout if c in converted)
    m = Measurement(
        campaign_id=campaign_id,
        treated_n=len(treated),
        holdout_n=len(holdout),
        messages_sent=obs.messages_sent,
        conversions_treated=conv_t,
        conversions_holdout=conv_h,
    )
    if treated and holdout:
        m.conversion_lift = proportion_lift(conv_t, len(treated), conv_h, len(holdout))
        m.revenue_lift = mean_lift(
            [converted.get(c, 0.0) for c in treated], [converted.get(c, 0.0) for c in holdout]
        )
    total_w = sum(weights.values()) or 1.0
    m.arms = [
        ArmStats(
            arm=arm,
            angle=angles.get(arm, ""),
            sends=int(per_arm[arm]["sends"]),
            opens=int(per_arm[arm]["opened"]),
            clicks=int(per_arm[arm]["clicked"]),
            conversions=int(per_arm[arm]["converted"]),
            revenue=round(per_arm[arm]["revenue"], 2),
            weight_share=round(weights.get(arm, 0.0) / total_w, 4),
        )
        for arm in sorted(weights)
    ]
    return m


def propose(measurement: Measurement, *, seed: int = 0) -> list[Revision]:
    """Revisions the evidence supports. Small samples produce none (and say so in the audit)."""
    arms = [a for a in measurement.arms if a.weight_share > 0]
    if len(arms) < 2 or min(a.sends for a in arms) < MIN_SENDS_PER_ARM:
        return []
    p_best = thompson_shares({a.arm: (a.conversions, a.sends) for a in arms}, seed=seed)
    # Every arm keeps MIN_SHARE; the rest follows the probability of being best.
    spare = 1.0 - MIN_SHARE * len(p_best)
    new = {a: round(MIN_SHARE + spare * p, 4) for a, p in p_best.items()}
    old = {a.arm: a.weight_share for a in arms}
    shift = max(abs(new[a] - old[a]) for a in new)
    if shift < MIN_SHIFT:
        return []
    best = max(p_best, key=lambda a: p_best[a])
    return [
        Revision(
            kind="shift_allocation",
            description=(
                f"Shift future sends towards arm {best} "
                f"({', '.join(f'{a}: {old[a]:.0%} → {new[a]:.0%}' for a in sorted(new))})."
            ),
            params={"weights": new, "max_shift": round(shift, 4)},
            risk=round(min(1.0, shift), 4),
            evidence={
                "p_best": {a: round(p, 4) for a, p in p_best.items()},
                "arms": {
                    a.arm: {
                        "sends": a.sends,
                        "conversions": a.conversions,
                        "conversion_rate": round(a.conversion_rate, 5),
                    }
                    for a in arms
                },
                "method": "Thompson sampling, Beta(1+conversions, 1+sends-conversions)",
            },
        )
    ]


def review(kit: BrandKit, revision: Revision) -> str | None:
    """Why a human must approve this revision, or None if it is within the brand's thresholds."""
    return revision_review(kit.approval_policy, revision)


def apply_weights(
    variants: Sequence[VariantTemplate], weights: dict[str, float]
) -> list[VariantTemplate]:
    """Variants with the arm weights of a shift_allocation revision applied."""
    return [v.model_copy(update={"weight": float(weights.get(v.arm, v.weight))}) for v in variants]
