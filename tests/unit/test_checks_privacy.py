"""Sensitive topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import privacy
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _spans(body: str) -> list[str | None]:
    return [f.span for f in privacy.check(KIT, CopyToCheck(channel=Channel.SMS, body=body))]


@pytest.mark.parametrize(
    ("body", "span"),
    [
        ("Congratulations on your pregnancy!", "pregnancy"),
        ("Managing Diabetes on the trail?", "Diabetes"),
        ("Boost your credit   score", "credit   score"),
        ("After your divorce, treat yourself", "divorce"),
        ("Kickstart your weight loss", "weight loss"),
        ("Recently diagnosed?", "diagnosed"),
    ],
)
def test_sensitive_topics_block(body: str, span: str) -> None:
    assert _spans(body) == [span]


@pytest.mark.parametrize(
    "body", ["Our lightweight shell weighs 210 g.", "Good health starts outside.", "Debtors' lane"]
)
def test_near_misses_pass(body: str) -> None:
    assert _spans(body) == []


def test_no_topics_configured() -> None:
    bare = KIT.model_copy(update={"sensitive_topics": []})
    assert privacy.check(bare, CopyToCheck(channel=Channel.SMS, body="cancer")) == []
