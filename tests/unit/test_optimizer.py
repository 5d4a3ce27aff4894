"""Optimizer: revisions from per-arm evidence (people, not messages), winners declared on
always-valid evidence, and their review against the approval policy."""

from __future__ import annotations

from agents.optimizer import ArmStats, Measurement, apply_weights, propose
from brand_guardrails.kit import load_brand_kit
from brand_guardrails.policy import revision_review
from core.models import Channel, VariantTemplate
from core.settings import Settings


def _m(
    a: tuple[int, int],
    b: tuple[int, int],
    shares: tuple[float, float] = (0.5, 0.5),
    treated_n: int = 0,
) -> Measurement:
    return Measurement(
        campaign_id="c",
        treated_n=treated_n,
        holdout_n=0,
        messages_sent=a[1] + b[1],
        conversions_treated=0,
        conversions_holdout=0,
        arms=[
            ArmStats(
                arm="A",
                angle="value",
                people=a[1],
                conversions=a[0],
                revenue=0,
                weight_share=shares[0],
            ),
            ArmStats(
                arm="B",
                angle="urgency",
                people=b[1],
                conversions=b[0],
                revenue=0,
                weight_share=shares[1],
            ),
        ],
    )


def test_clear_winner_is_declared_and_exploration_stops() -> None:
    revs = propose(_m((90, 1000), (40, 1000)))
    assert len(revs) == 1
    r = revs[0]
    assert r.kind == "shift_allocation" and r.params["winner"] == "A"
    assert r.params["weights"] == {"A": 1.0, "B": 0.0}
    assert "Declare arm A the winner" in r.description and "always-valid" in r.description
    av = r.evidence["always_valid_vs_best"]["B"]
    assert av["always_valid_low"] > 0 and av["always_valid_p"] < 0.05
    assert r.evidence["arms"]["A"]["conversions"] == 90
    assert r.risk == r.params["max_shift"] == 0.5
    # after the winner took every send, the loser has no share: nothing more to explore
    assert propose(_m((120, 1300), (40, 1000), shares=(1.0, 0.0))) == []


def test_lead_without_always_valid_evidence_shifts_but_declares_nothing() -> None:
    # 60 vs 40 in 1000 each: a fixed-horizon look says p = 0.04, the always-valid one does not
    revs = propose(_m((60, 1000), (40, 1000), treated_n=20000))
    assert len(revs) == 1
    r = revs[0]
    assert "winner" not in r.params and "no winner yet" in r.description
    w = r.params["weights"]
    assert w["A"] > w["B"] >= 0.05  # the loser keeps a floor share to keep learning
    assert abs(sum(w.values()) - 1) < 1e-3
    assert r.evidence["always_valid_vs_best"]["B"]["always_valid_low"] < 0


def test_small_samples_propose_nothing() -> None:
    assert propose(_m((9, 100), (2, 100))) == []
    # thousands of people but no conversions anywhere: nothing to go on
    assert propose(_m((0, 5000), (0, 5000), shares=(0.7, 0.3))) == []
    assert propose(_m((5, 5000), (4, 5000), shares=(0.7, 0.3))) == []


def test_no_change_when_allocation_already_matches() -> None:
    assert propose(_m((50, 1000), (50, 1000), shares=(0.5, 0.5))) == []


def test_policy_queues_big_shifts_and_applies_small_ones(settings: Settings) -> None:
    kit = load_brand_kit(settings.brand_path)
    big = propose(_m((90, 1000), (40, 1000)))[0]
    assert revision_review(kit.approval_policy, big) is not None
    small = propose(_m((56, 1000), (50, 1000), treated_n=20000))
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
