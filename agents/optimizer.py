"""The optimizer agent: measure a campaign against its holdout, and revise the strategy.

Measurement is incremental: treated vs randomized holdout, with fixed-horizon and always-valid
95 % intervals, and per-arm results counted in people (per journey arm, and per step and arm).
Revisions (shifting allocation between arms by Thompson sampling, or declaring a winner when the
always-valid interval says so) carry a risk score and their evidence; the brand's approval
policy decides whether one applies at once or waits for a human in the approval queue. The
optimizer looks every hour, so its decisions use the always-valid intervals only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from brand_guardrails.kit import BrandKit
from brand_guardrails.policy import revision_review
from core.db import Database
from core.models import Revision, VariantTemplate
from core.outcomes import ArmVariant, SentMessage, observations
from tools.statistics import LiftEstimate, mean_lift, proportion_lift, thompson_shares

MIN_PEOPLE_PER_ARM = 200
"""Below this many people reached in an arm, no allocation change is proposed."""
MIN_CONVERSIONS = 10
"""Below this many conversions over all arms together, no allocation change is proposed."""
MIN_SHARE = 0.05
"""No arm is starved completely: it keeps this share so the test keeps learning."""
MIN_SHIFT = 0.02
"""Changes of allocation smaller than this are not worth a revision."""


class StepArmStats(BaseModel):
    """Results of one arm in one journey step (one channel and angle), counted in people."""

    step_id: str
    """Journey step."""
    channel: str
    """Channel of the step."""
    arm: str
    """Arm label (A, B …)."""
    angle: str
    """Creative angle of this arm in this step."""
    people: int
    """People this step's message was sent to."""
    opened: int
    """Of them, people who opened it."""
    clicked: int
    """Of them, people who clicked it."""
    converted: int
    """Of them, people whose conversion is attributed to this message (last touch)."""
    revenue: float
    """Revenue of those attributed conversions."""


class ArmStats(BaseModel):
    """Results of one arm over the whole journey: a person keeps their arm in every step."""

    arm: str
    """Arm label (A, B …)."""
    angle: str
    """Creative angle per step, e.g. `value (s1 email), new_arrivals (s2 sms)`."""
    people: int
    """People sent at least one message of this arm."""
    conversions: int
    """Of them, people who converted (any conversion in the campaign: arms are randomized
    among the treated, so this compares arms without attribution rules)."""
    revenue: float
    """Revenue of those people in the campaign."""
    weight_share: float
    """Current share of future sends."""

    @property
    def conversion_rate(self) -> float:
        """Conversions per person reached."""
        return self.conversions / self.people if self.people else 0.0


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
    """Treated − holdout conversion rate with its fixed-horizon and always-valid 95 % intervals
    (the latter tuned for the whole campaign); None while a group is empty."""
    revenue_lift: LiftEstimate | None = None
    """Treated − holdout revenue per person, same intervals."""
    arms: list[ArmStats] = Field(default_factory=list)
    """Per-arm results over the journey (what allocation decisions use)."""
    steps: list[StepArmStats] = Field(default_factory=list)
    """Per step and arm (each a channel and angle of its own), in people."""


def measure(db: Database, campaign_id: str) -> Measurement:
    """Read the outcomes of a campaign and compute lift and per-arm results."""
    obs = observations(db, campaign_id)
    groups, converted = obs.groups, obs.converted

    treated = [c for c, g in groups.items() if g == "treated"]
    holdout = [c for c, g in groups.items() if g == "holdout"]
    conv_t = sum(1 for c in treated if c in converted)
    conv_h = sum(1 for c in holdout if c in converted)
    m = Measurement(
        campaign_id=campaign_id,
        treated_n=len(treated),
        holdout_n=len(holdout),
        messages_sent=len(obs.sent),
        conversions_treated=conv_t,
        conversions_holdout=conv_h,
    )
    planned = len(treated) + len(holdout)
    if treated and holdout:
        m.conversion_lift = proportion_lift(
            conv_t, len(treated), conv_h, len(holdout), planned_n=planned
        )
        m.revenue_lift = mean_lift(
            [converted.get(c, 0.0) for c in treated],
            [converted.get(c, 0.0) for c in holdout],
            planned_n=planned,
        )
    m.steps = _step_stats(obs.sent, obs.message_outcomes, obs.variants)
    m.arms = _arm_stats(obs.sent, converted, obs.variants)
    return m


def _step_stats(
    sent: Sequence[SentMessage],
    responses: Sequence[tuple[str, str, float]],
    variants: Sequence[ArmVariant],
) -> list[StepArmStats]:
    """People per step and arm: sent, opened, clicked, converted (attributed), revenue."""
    people: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    revenue: dict[tuple[str, str, str], float] = defaultdict(float)
    by_id = {m.id: (m.customer_id, m.step_id, m.channel, m.arm) for m in sent}
    for cid, step, channel, arm in by_id.values():
        people[step, channel, arm]["sent"].add(cid)
    for mid, kind, value in responses:
        if mid not in by_id:
            continue
        cid, step, channel, arm = by_id[mid]
        if kind == "converted":  # every order counts its revenue; people count once
            revenue[step, channel, arm] += value
        people[step, channel, arm][kind].add(cid)
    angles = {(v.step_id, v.arm): v.angle for v in variants}
    return [
        StepArmStats(
            step_id=step,
            channel=channel,
            arm=arm,
            angle=angles.get((step, arm), ""),
            people=len(p["sent"]),
            opened=len(p["opened"]),
            clicked=len(p["clicked"]),
            converted=len(p["converted"]),
            revenue=round(revenue[step, channel, arm], 2),
        )
        for (step, channel, arm), p in sorted(people.items())
    ]


def _arm_stats(
    sent: Sequence[SentMessage], converted: Mapping[str, float], variants: Sequence[ArmVariant]
) -> list[ArmStats]:
    """People per journey arm (the arm of their first message), and their conversions."""
    arm_of: dict[str, str] = {}
    for m in sent:  # in the order they were sent
        arm_of.setdefault(m.customer_id, m.arm)
    weights: dict[str, float] = {}
    angles: dict[str, list[str]] = defaultdict(list)
    for v in sorted(variants, key=lambda v: (v.step_id, v.arm)):
        weights[v.arm] = v.weight
        angles[v.arm].append(f"{v.angle} ({v.step_id} {v.channel})")
    total_w = sum(weights.values()) or 1.0
    members: dict[str, list[str]] = defaultdict(list)
    for cid, arm in arm_of.items():
        members[arm].append(cid)
    return [
        ArmStats(
            arm=arm,
            angle=", ".join(angles.get(arm, [])),
            people=len(members[arm]),
            conversions=sum(1 for c in members[arm] if c in converted),
            revenue=round(sum(converted.get(c, 0.0) for c in members[arm]), 2),
            weight_share=round(weights.get(arm, 0.0) / total_w, 4),
        )
        for arm in sorted(weights)
    ]


def has_minimum_evidence(arms: Sequence[tuple[int, int]]) -> bool:
    """True when every arm reached `MIN_PEOPLE_PER_ARM` people and the arms together have
    `MIN_CONVERSIONS` conversions; `arms` holds (conversions, people) per arm."""
    return (
        len(arms) >= 2
        and all(n >= MIN_PEOPLE_PER_ARM for _, n in arms)
        and sum(x for x, _ in arms) >= MIN_CONVERSIONS
    )


def propose(measurement: Measurement, *, seed: int = 0) -> list[Revision]:
    """Revisions the evidence supports; none below the minimum evidence per arm.

    When the leading arm's always-valid interval against every other arm excludes 0, it is
    declared the winner: it gets every future send and exploration stops. Otherwise future
    sends follow Thompson sampling, each arm keeping `MIN_SHARE`.
    """
    arms = [a for a in measurement.arms if a.weight_share > 0]
    if not has_minimum_evidence([(a.conversions, a.people) for a in arms]):
        return []
    best = max(arms, key=lambda a: (a.conversion_rate, a.arm))
    planned = max(measurement.treated_n, sum(a.people for a in arms))
    versus = {
        a.arm: proportion_lift(
            best.conversions,
            best.people,
            a.conversions,
            a.people,
            planned_n=planned,
            metric=f"conversion {best.arm} - {a.arm}",
        )
        for a in arms
        if a is not best
    }
    evidence: dict[str, object] = {
        "arms": {
            a.arm: {
                "people": a.people,
                "conversions": a.conversions,
                "conversion_rate": round(a.conversion_rate, 5),
            }
            for a in arms
        },
        "always_valid_vs_best": {
            arm: {
                "lift": round(e.estimate, 5),
                "always_valid_low": round(e.sequential_low, 5),
                "always_valid_high": round(e.sequential_high, 5),
                "always_valid_p": round(e.sequential_p_value, 5),
            }
            for arm, e in versus.items()
        },
    }
    old = {a.arm: a.weight_share for a in arms}
    if all(e.sequential_low > 0 for e in versus.values()):
        new = {a: 1.0 if a == best.arm else 0.0 for a in old}
        shift = max(abs(new[a] - old[a]) for a in new)
        spans = "; ".join(
            f"vs {arm} {e.sequential_low * 100:+.2f} to {e.sequential_high * 100:+.2f} pp"
            for arm, e in versus.items()
        )
        return [
            Revision(
                kind="shift_allocation",
                description=(
                    f"Declare arm {best.arm} the winner and stop exploring: its always-valid "
                    f"95 % interval of the conversion lift excludes 0 against every other arm "
                    f"({spans}); all future sends go to {best.arm}."
                ),
                params={
                    "weights": new,
                    "previous_weights": old,
                    "max_shift": round(shift, 4),
                    "winner": best.arm,
                },
                risk=round(min(1.0, shift), 4),
                evidence={
                    **evidence,
                    "method": "always-valid normal-mixture confidence sequence, 95 %",
                },
            )
        ]
    p_best = thompson_shares({a.arm: (a.conversions, a.people) for a in arms}, seed=seed)
    # Every arm keeps MIN_SHARE; the rest follows the probability of being best.
    spare = 1.0 - MIN_SHARE * len(p_best)
    new = {a: round(MIN_SHARE + spare * p, 4) for a, p in p_best.items()}
    shift = max(abs(new[a] - old[a]) for a in new)
    if shift < MIN_SHIFT:
        return []
    leader = max(p_best, key=lambda a: p_best[a])
    return [
        Revision(
            kind="shift_allocation",
            description=(
                f"Shift future sends towards arm {leader} "
                f"({', '.join(f'{a}: {old[a]:.0%} → {new[a]:.0%}' for a in sorted(new))}); "
                "no winner yet: the always-valid interval does not exclude 0."
            ),
            params={"weights": new, "previous_weights": old, "max_shift": round(shift, 4)},
            risk=round(min(1.0, shift), 4),
            evidence={
                **evidence,
                "p_best": {a: round(p, 4) for a, p in p_best.items()},
                "method": "Thompson sampling, Beta(1+conversions, 1+people-conversions)",
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
