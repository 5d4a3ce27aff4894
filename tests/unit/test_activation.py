"""Activation: arm assignment is deterministic, follows the weights, is independent of the
holdout draw, records its probability, and moves few people when weights change."""

from __future__ import annotations

import math

import pytest

from agents.activation import arm_probabilities, choose_arm
from core.models import Channel, VariantTemplate
from tools.audience import split_holdout


def _arms(wa: float, wb: float, status_b: str = "active") -> list[VariantTemplate]:
    return [
        VariantTemplate(id="a", step_id="s1", arm="A", channel=Channel.EMAIL, body="x", weight=wa),
        VariantTemplate(
            id="b",
            step_id="s1",
            arm="B",
            channel=Channel.EMAIL,
            body="x",
            weight=wb,
            status=status_b,
        ),  # type: ignore[arg-type]
    ]


def _arm(campaign: str, person: str, variants: list[VariantTemplate]) -> str:
    return choose_arm(campaign, person, variants)[0].arm


def test_same_person_same_arm_and_shares_follow_weights() -> None:
    people = [f"cus_{i}" for i in range(20000)]
    first = [_arm("c1", p, _arms(1, 1)) for p in people]
    assert first == [_arm("c1", p, _arms(1, 1)) for p in people]
    assert first.count("A") / len(people) == pytest.approx(0.5, abs=0.015)
    skewed = [_arm("c1", p, _arms(0.8, 0.2)) for p in people]
    assert skewed.count("A") / len(people) == pytest.approx(0.8, abs=0.015)


def _within(count: int, n: int, share: float) -> bool:
    return abs(count - n * share) < 4 * math.sqrt(n * share * (1 - share))


@pytest.mark.parametrize(
    ("holdout", "weights"), [(0.1, (1, 1)), (0.2, (1, 1)), (0.2, (0.95, 0.05)), (0.5, (0.7, 0.3))]
)
def test_realised_shares_equal_nominal_among_the_treated(
    holdout: float, weights: tuple[float, float]
) -> None:
    # The arm draw used to reuse the holdout's hash: treated people all had u >= holdout share,
    # so at 50/50 with a 20 % holdout arm A got 37.8 %, and a 5 % arm got nobody.
    ids = [f"cus_{i:06d}" for i in range(100_000)]
    treated, held = split_holdout("cmp_shares", ids, holdout)
    assert _within(len(held), len(ids), holdout)
    arms = _arms(*weights)
    count_b = sum(_arm("cmp_shares", p, arms) == "B" for p in treated)
    share_b = weights[1] / sum(weights)
    assert _within(count_b, len(treated), share_b), (count_b / len(treated), share_b)


def test_choice_reports_its_probability() -> None:
    arms = _arms(3, 1)
    assert arm_probabilities(arms) == {"a": 0.75, "b": 0.25}
    picked = {(v.id, p) for v, p in (choose_arm("c", f"p{i}", arms) for i in range(200))}
    assert picked == {("a", 0.75), ("b", 0.25)}
    assert arm_probabilities(_arms(1, 1, status_b="paused")) == {"a": 1.0}


def test_reweighting_moves_only_the_people_it_must() -> None:
    people = [f"cus_{i}" for i in range(20000)]
    before = [_arm("c1", p, _arms(0.5, 0.5)) for p in people]
    after = [_arm("c1", p, _arms(0.7, 0.3)) for p in people]
    moved = sum(b != a for b, a in zip(before, after, strict=True))
    assert moved / len(people) == pytest.approx(0.2, abs=0.015)  # exactly the 20 % shift
    assert all(a == "A" for b, a in zip(before, after, strict=True) if b == "A")


def test_paused_or_blocked_arms_get_nobody() -> None:
    arms = _arms(1, 1, status_b="blocked")
    assert {_arm("c", f"p{i}", arms) for i in range(500)} == {"A"}
    with pytest.raises(ValueError, match="no active variant"):
        choose_arm("c", "k", _arms(0, 0))
