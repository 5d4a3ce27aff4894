"""The creep guard's second stage: the MiniLM classifier on candidate lines the rules miss."""

from __future__ import annotations

import pytest

from brand_guardrails.checks._text import fold
from brand_guardrails.checks.creep import CATEGORIES, CreepGuard
from brand_guardrails.checks.creep_model import cues, is_candidate, shipped_model

RULES_ONLY = CreepGuard(model=False)
GUARD = CreepGuard(model=True)


def test_the_shipped_model_has_every_category_and_a_strict_threshold() -> None:
    model = shipped_model()
    assert model is not None
    assert model.labels == ("none", *CATEGORIES)
    assert model.weights.shape == (len(CATEGORIES) + 1, 384)
    assert 0.5 <= model.threshold < 1.0


def test_the_classifier_blocks_a_wording_the_rules_do_not_list() -> None:
    text = "With your credit card maxed out, our pay-later plan can help."
    assert RULES_ONLY.scan(text) == []
    (found,) = GUARD.scan(text)
    assert found.category == "finances" and "classifier" in found.how
    assert found.span == "credit"  # the cue, for highlighting


@pytest.mark.parametrize(
    "text",
    [
        "Your order has shipped and arrives Thursday.",
        "It fits right into your home kit and is made to take a beating.",
        "Our brand turns 50 this year: thank you for walking with us.",
        "New research on cancer therapy published this week.",
    ],
)
def test_lines_without_a_cue_near_the_reader_never_reach_the_model(text: str) -> None:
    assert not is_candidate(fold(text))
    assert GUARD.scan(text) == []


def test_a_cue_near_the_reader_makes_a_candidate_and_names_its_category() -> None:
    text = "Still paying off your debt? Spread the cost."
    assert is_candidate(fold(text))
    assert cues(fold(text)) == {"finances"}


@pytest.mark.parametrize(
    "text",
    [
        "Find a store near you with our store locator.",
        "You're 20% away from free shipping.",
        "Are you expecting a delivery this week? Track it in your account.",
    ],
)
def test_ordinary_copy_with_a_cue_passes(text: str) -> None:
    assert GUARD.scan(text) == []
