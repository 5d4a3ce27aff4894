"""Activation: arm assignment is deterministic, follows the weights, and moves few people."""

from __future__ import annotations

import pytest

from agents.activation import arm_key, choose_arm
from core.models import Channel, VariantTemplate


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


def test_same_person_same_arm_and_shares_follow_weights() -> None:
    people = [f"cus_{i}" for i in range(20000)]
    first = [choose_arm(arm_key("c1", p), _arms(1, 1)).arm for p in people]
    assert first == [choose_arm(arm_key("c1", p), _arms(1, 1)).arm for p in people]
    assert first.count("A") / len(people) == pytest.approx(0.5, abs=0.015)
    skewed = [choose_arm(arm_key("c1", p), _arms(0.8, 0.2)).arm for p in people]
    assert skewed.count("A") / len(people) == pytest.approx(0.8, abs=0.015)


def test_reweighting_moves_only_the_people_it_must() -> None:
    people = [f"cus_{i}" for i in range(20000)]
    before = [choose_arm(arm_key("c1", p), _arms(0.5, 0.5)).arm for p in people]
    after = [choose_arm(arm_key("c1", p), _arms(0.7, 0.3)).arm for p in people]
    moved = sum(b != a for b, a in zip(before, after, strict=True))
    assert moved / len(people) == pytest.approx(0.2, abs=0.015)  # exactly the 20 % shift
    assert all(a == "A" for b, a in zip(before, after, strict=True) if b == "A")


def test_paused_or_blocked_arms_get_nobody() -> None:
    arms = _arms(1, 1, status_b="blocked")
    assert {choose_arm(arm_key("c", f"p{i}"), arms).arm for i in range(500)} == {"A"}
    with pytest.raises(ValueError, match="no active variant"):
        choose_arm("k", _arms(0, 0))
