"""Voice warnings: avoided words, emoji policy, shouting."""

from __future__ import annotations

from pathlib import Path

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import voice
from brand_guardrails.kit import load_brand_kit
from core.models import Channel, Severity

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _ids(body: str, channel: Channel = Channel.EMAIL) -> list[str]:
    return [f.rule_id for f in voice.check(KIT, CopyToCheck(channel=channel, body=body))]


def test_avoided_words_warn() -> None:
    found = voice.check(KIT, CopyToCheck(channel=Channel.EMAIL, body="A Must-Have jacket"))
    assert [(f.rule_id, f.severity, f.span) for f in found] == [
        ("voice.avoid_word", Severity.WARN, "Must-Have")
    ]


def test_emoji_policy_by_channel() -> None:
    assert _ids("New boots 🥾") == ["voice.emoji"]
    assert _ids("New boots 🥾", Channel.PUSH) == []
    assert _ids("New boots 🥾🥾", Channel.PUSH) == ["voice.emoji"]


def test_shouting_warns() -> None:
    assert _ids("HUGE SALE TODAY") == ["voice.shouting"]
    assert _ids("New boots!!") == ["voice.shouting"]


def test_calm_copy_passes() -> None:
    assert _ids("New boots are in. Reply STOP to opt out. Our GORE shell, in USD.") == []
    assert _ids("Northwind Outfitters: warm, light fleece!") == []
