"""The compliance footer and SMS prefix."""

from __future__ import annotations

from pathlib import Path

from brand_guardrails.footer import apply_footer, compliance_footer, sms_prefix
from brand_guardrails.kit import load_brand_kit
from core.models import Channel, Offer

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
URL = "https://northwind.example/u/abc"


def test_email_footer_has_can_spam_items() -> None:
    footer = compliance_footer(KIT, Channel.EMAIL, unsubscribe_url=URL)
    assert f"Unsubscribe: {URL}" in footer
    assert KIT.postal_address in footer
    assert "hello@northwind.example" in footer
    assert "because you signed up" in footer


def test_email_footer_carries_the_offer_disclaimer() -> None:
    footer = compliance_footer(
        KIT, Channel.EMAIL, unsubscribe_url=URL, offer=Offer(kind="free_shipping")
    )
    assert KIT.disclaimers.by_offer["free_shipping"].text in footer
    assert "Excl. apply" not in footer


def test_sms_prefix_and_stop() -> None:
    assert sms_prefix(KIT) == "Northwind: "
    out = apply_footer(KIT, Channel.SMS, "New fleece.", URL)
    assert out == "Northwind: New fleece. Msg&data rates may apply. Reply STOP to opt out"
    again = apply_footer(KIT, Channel.SMS, "Northwind: New fleece.", URL)
    assert again.count("Northwind:") == 1


def test_sms_uses_the_short_offer_disclaimer() -> None:
    out = apply_footer(
        KIT, Channel.SMS, "10% off.", URL, offer=Offer(kind="percent_off", percent=10)
    )
    assert "Excl. apply, see site." in out and out.endswith("Reply STOP to opt out")


def test_email_body_then_footer_and_push_untouched() -> None:
    out = apply_footer(KIT, Channel.EMAIL, "Hi there.\n", URL)
    assert out.startswith("Hi there.\n\n--\n")
    assert apply_footer(KIT, Channel.PUSH, "New boots", URL) == "New boots"
    assert compliance_footer(KIT, Channel.PUSH, unsubscribe_url=URL) == ""


def test_push_with_an_offer_carries_the_short_disclaimer() -> None:
    offer = Offer(kind="percent_off", percent=10, code="TRAIL10")
    out = apply_footer(KIT, Channel.PUSH, "10% off this weekend with TRAIL10.", URL, offer=offer)
    assert out == "10% off this weekend with TRAIL10. Excl. apply, see site."
