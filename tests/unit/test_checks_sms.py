"""SMS checks: brand prefix, STOP, disclaimer, GSM-7 / UCS-2 segments."""

from __future__ import annotations

from pathlib import Path

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import sms
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import load_brand_kit
from core.models import Channel
from tools.sms_encoding import segments, to_gsm7

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
TAIL = " Msg&data rates may apply. Reply STOP to opt out"


def _ids(body: str) -> list[str]:
    return [f.rule_id for f in sms.check(KIT, CopyToCheck(channel=Channel.SMS, body=body))]


def test_footer_makes_it_compliant() -> None:
    assert _ids(apply_footer(KIT, Channel.SMS, "New fleece is in.", "u")) == []


def test_missing_stop_brand_and_disclaimer() -> None:
    assert _ids("New fleece is in.") == [
        "sms.brand_missing",
        "sms.opt_out_missing",
        "sms.disclaimer_missing",
    ]
    assert _ids("Northwind: New fleece." + TAIL.replace("Reply STOP", "Reply NO")) == [
        "sms.opt_out_missing"
    ]
    assert _ids("Northwind: New fleece. Msg&data rates may apply. Text STOP to quit") == []


def test_segment_counts_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == (1, "GSM-7", [])
    assert segments("a" * 161)[0] == 2
    assert segments("a" * 306)[0] == 2 and segments("a" * 307)[0] == 3
    assert segments("€" * 80)[0] == 1  # extension characters count twice: 160 septets
    assert segments("a" * 70 + "’") == (2, "UCS-2", ["’"])
    assert segments("a" * 69 + "’")[0] == 1
    assert segments("🏔" + "a" * 130)[0] == 2  # emoji: 2 UTF-16 units, 132 units, 2 parts


def test_too_many_segments_names_the_culprit() -> None:
    body = "Northwind: " + "Warm light fleece 🏔 for the trail. " * 4 + TAIL
    (f,) = sms.check(KIT, CopyToCheck(channel=Channel.SMS, body=body))
    assert f.rule_id == "sms.too_many_segments"
    assert "🏔" in (f.span or "") and "UCS-2" in f.explanation


def test_long_gsm_within_limit_passes() -> None:
    assert _ids("Northwind: " + "x" * 200 + TAIL) == []
    assert _ids("Northwind: " + "x" * 300 + TAIL) == ["sms.too_many_segments"]


def test_apply_footer_transliterates_to_gsm7() -> None:
    assert to_gsm7("Zoë’s “fleece” – ok…") == 'Zoe\'s "fleece" - ok...'
    assert to_gsm7("é stays, 🏔 stays") == "é stays, 🏔 stays"
    out = apply_footer(KIT, Channel.SMS, "Hi Zoë, it’s here.", "u")
    assert out.startswith("Northwind: Hi Zoe, it's here.")


def test_other_channels_are_not_checked() -> None:
    assert sms.check(KIT, CopyToCheck(channel=Channel.EMAIL, body="x")) == []
