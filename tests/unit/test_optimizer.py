"""Optimizer: revisions from per-arm evidence, and their review against the approval policy."""

from __future__ import annotations

from agents.optimizer import ArmStats, Measurement, apply_weights, propose
from brand_guardrails.kit import load_brand_kit
from brand_guardrails.policy import revision_review
from core.models import Channel, VariantTemplate
from core.settings import Settings


def _m(
    a: tuple[int, int], b: tuple[int, int], shares: tuple[float, float] = (0.5, 0.5)
) -> Measurement:
    return Measurement(
        campaign_id="c",
        treated_n=0,
        holdout_n=0,
        messages_sent=a[1] + b[1],
        conversions_treated=0,
        conversions_holdout=0,
        arms=[
            ArmStats(
                arm="A",
                angle="value",
                sends=a[1],
                opens=0,
                clicks=0,
                conversions=a[0],
                revenue=0,
                weight_share=shares[0],
            ),
            ArmStats(
                arm="B",
                angle="urgency",
                sends=b[1],
                opens=0,
                clicks=0,
                conversions=b[0],
                revenue=0,
                weight_share=shares[1],
            ),
        ],
    )


def test_clear_winner_gets_more_future_sends() -> None:
    revs = propose(_m((90, 1000), (40, 1000)))
    assert len(revs) == 1
    r = revs[0]
    assert r.kind == "shift_allocation"
    w = r.params["weights"]
    assert w["A"] > 0.8 and w["B"] >= 0.05  # the loser keeps a floor share to keep learning
    assert abs(sum(w.values()) - 1) < 1e-3
    assert r.risk == r.params["max_shift"] > 0.3
    assert r.evidence["arms"]["A"]["conversions"] == 90


def test_small_samples_propose_nothing() -> None:
    assert propose(_m((9, 100), (2, 100))) == []


def test_no_change_when_allocation_already_matches() -> None:
    assert propose(_m((50, 1000), (50, 1000), shares=(0.5, 0.5))) == []


def test_policy_queues_big_shifts_and_applies_small_ones(settings: Settings) -> None:
    kit = load_brand_kit(settings.brand_path)
    big = propose(_m((90, 1000), (40, 1000)))[0]
    assert revision_review(kit.approval_policy, big) is not None
    small = propose(_m((56, 1000), (50, 1000)))
    assert small, "a modest difference still proposes a shift"
    if small[0].params["max_shift"] <= kit.approval_policy.max_auto_allocation_shift:
        assert revision_review(kit.approval_policy, small[0]) is None


def test_apply_weights_changes_only_named_arms() -> None:
    vs = [
        VariantTemplate(id=f"c:{s}:{a}", step_id=s, arm=a, channel=Channel.EMAIL, body="x")
        for s in ("s1", "s2")
        for a in ("A", "B")
    ]
    out = apply_weights(vs, {"A": 0.9})
    assert [v.weight for v in out] == [0.9, 1.0, 0.9, 1.0]
