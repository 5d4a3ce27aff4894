"""Shouting by capitals ratio and exclamation marks; reading level and length by the kit."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import voice
from brand_guardrails.checks.voice import syllables
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")

PLAIN = (
    "Our new fleece is warm and light. It packs small and dries fast. "
    "Wear it on the trail or in town. It comes in five colors."
)
DENSE = (
    "Our revolutionary, meticulously engineered thermoregulating insulation technology "
    "incorporates proprietary hydrophobic microfilaments, guaranteeing unparalleled "
    "performance characteristics throughout multidimensional environmental conditions, "
    "substantially outperforming conventional alternatives."
)


def _ids(body: str, channel: Channel = Channel.PUSH, subject: str | None = None) -> list[str]:
    return [
        f.rule_id
        for f in voice.check(KIT, CopyToCheck(channel=channel, body=body, subject=subject))
    ]


@pytest.mark.parametrize(
    "body",
    [
        "SAVE on the NEW fleece TODAY",  # 2+ shouted words
        "New fleece!! Come see",  # a run
        "Great! New! Fleece! In!",  # too many marks
        "THE BEST FLEECE in town for you",  # caps ratio above 30 %
    ],
)
def test_shouting_warns(body: str) -> None:
    assert _ids(body) == ["voice.shouting"]


def test_calm_copy_and_acronyms_pass() -> None:
    assert _ids("Our GORE shell ships from the USA. Reply STOP to opt out. Nice!") == []


def test_reading_level_against_the_kit() -> None:
    assert _ids(PLAIN) == []
    assert _ids(DENSE, Channel.EMAIL, subject="x") == ["voice.reading_level"]


def test_reading_level_ignores_the_email_footer() -> None:
    body = apply_footer(KIT, Channel.EMAIL, PLAIN, "https://northwind.example/u/1")
    assert _ids(body, Channel.EMAIL, subject="New fleece") == []


def test_length_limits() -> None:
    long_push = "Warm fleece for cold mornings. " * 7
    assert _ids(long_push.strip()) == ["voice.too_long"]
    assert _ids("Fleece", subject="A title that goes on and on well past fifty letters") == [
        "voice.too_long"
    ]


@pytest.mark.parametrize(
    ("word", "n"), [("fleece", 1), ("trail", 1), ("waterproof", 3), ("insulation", 4), ("the", 1)]
)
def test_syllables(word: str, n: int) -> None:
    assert syllables(word) == n
