"""Offers: discount threshold (warn), mismatch and missing disclaimers (block)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.checks import offers
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import load_brand_kit
from core.models import Channel, Offer, Severity

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
URL = "https://northwind.example/u/1"


def _run(body: str, offer: Offer | None, channel: Channel = Channel.EMAIL) -> dict[str, Severity]:
    final = apply_footer(KIT, channel, body, URL, offer=offer)
    msg = CopyToCheck(channel=channel, subject="S", body=final, offer=offer)
    return {f.rule_id: f.severity for f in offers.check(KIT, msg)}


def test_discount_under_threshold_with_disclaimer_passes() -> None:
    assert _run("Take 10% off with code TRAIL10.", Offer(kind="percent_off", percent=10)) == {}
    assert _run("Take 15% off.", Offer(kind="percent_off", percent=15)) == {}


def test_discount_above_threshold_warns_not_blocks() -> None:
    found = _run("Take 25% off tents.", Offer(kind="percent_off", percent=25))
    assert found == {"offer.discount_above_threshold": Severity.WARN}


def test_offer_above_threshold_warns_even_if_copy_is_silent() -> None:
    found = _run("Our event is on.", Offer(kind="percent_off", percent=30))
    assert found == {"offer.discount_above_threshold": Severity.WARN}


def test_discount_in_copy_without_offer_needs_disclaimer() -> None:
    found = _run("Save 30% on boots.", None)
    assert found == {
        "offer.discount_above_threshold": Severity.WARN,
        "offer.missing_disclaimer": Severity.BLOCK,
    }


def test_free_shipping_and_gift_need_their_disclaimers() -> None:
    assert _run("Free shipping this week.", None) == {"offer.missing_disclaimer": Severity.BLOCK}
    assert _run("A free gift with purchase.", None) == {"offer.missing_disclaimer": Severity.BLOCK}
    assert _run("Free shipping this week.", Offer(kind="free_shipping")) == {}
    assert _run("A free gift with your order.", Offer(kind="gift")) == {}


def test_sms_accepts_the_short_disclaimer() -> None:
    offer = Offer(kind="percent_off", percent=10)
    assert _run("10% off today.", offer, Channel.SMS) == {}
    bare = CopyToCheck(channel=Channel.SMS, body="Northwind: 10% off today.", offer=offer)
    assert [f.rule_id for f in offers.check(KIT, bare)] == ["offer.missing_disclaimer"]


def test_copy_promising_another_discount_than_the_offer_blocks() -> None:
    found = _run("Take 12% off.", Offer(kind="percent_off", percent=10))
    assert found == {"offer.mismatch": Severity.BLOCK}


def test_no_offer_no_findings() -> None:
    assert _run("New boots are in. 100% wool socks too.", None) == {}


def test_push_offer_passes_with_the_short_disclaimer_and_blocks_without() -> None:
    offer = Offer(kind="percent_off", percent=10, code="TRAIL10")
    assert _run("Code TRAIL10 takes 10% off until Sunday.", offer, Channel.PUSH) == {}
    bare = CopyToCheck(channel=Channel.PUSH, body="Code TRAIL10 takes 10% off.", offer=offer)
    assert {f.rule_id for f in offers.check(KIT, bare)} == {"offer.missing_disclaimer"}


def test_a_line_cut_at_a_line_break_is_not_read_as_another_discount() -> None:
    # The text around a line break is read for offers split over it; a long line's tail was
    # cut inside a word and read as another: "10% off" as "0% off", "relationships free" as
    # "ships free". Both paths (the family, check_message) agree.
    offer = Offer(kind="percent_off", percent=10, code="TRAIL10")
    for body in (
        "Your 10% off with code TRAIL10 is still there.\nhttps://northwind.example/p/boots",
        "Good relationships free you for the trail ahead, Ann.\nSee you out there.",
    ):
        assert _run(body, offer) == {}, body
        final = apply_footer(KIT, Channel.EMAIL, body, URL, offer=offer)
        msg = CopyToCheck(channel=Channel.EMAIL, subject="S", body=final, offer=offer)
        assert check_message(KIT, msg) == [], body


def test_a_discount_written_across_a_line_break_is_still_read() -> None:
    found = _run(
        "Your jacket, now at 15\n% off until Sunday.", Offer(kind="percent_off", percent=10)
    )
    assert found == {"offer.mismatch": Severity.BLOCK}
    found = _run("Every order ships\nfree this week.", None)
    assert found == {"offer.missing_disclaimer": Severity.BLOCK}


TEN_OFF = Offer(kind="amount_off", amount=10, currency="USD", min_order=50)


def test_an_amount_offer_with_its_disclaimer_passes() -> None:
    assert _run("Take $10 off orders over $50 with code TEN.", TEN_OFF) == {}
    assert _run("$10 off orders over $50 this week.", TEN_OFF, Channel.SMS) == {}
    assert "Amount off applies once per order" in apply_footer(
        KIT, Channel.EMAIL, "x", URL, offer=TEN_OFF
    )


def test_an_amount_in_copy_without_an_offer_needs_its_disclaimer() -> None:
    found = _run("Save $10 on boots.", None)
    assert found == {"offer.missing_disclaimer": Severity.BLOCK}
    assert _run("Nimm 10 € Rabatt auf Schuhe.", None) == {
        "offer.missing_disclaimer": Severity.BLOCK
    }


@pytest.mark.parametrize(
    ("body", "offer"),
    [
        ("Take $15 off orders over $50.", TEN_OFF),  # another amount
        ("Take €10 off orders over €50.", TEN_OFF),  # another currency
        ("Take 10% off orders over $50.", TEN_OFF),  # a percent on an amount offer
        (
            "Take $10 off this week.",
            Offer(kind="percent_off", percent=10),
        ),  # an amount on a percent
    ],
)
def test_copy_promising_another_amount_than_the_offer_blocks(body: str, offer: Offer) -> None:
    assert _run(body, offer).get("offer.mismatch") == Severity.BLOCK


def test_a_minimum_order_or_a_price_is_not_read_as_an_amount_off() -> None:
    assert _run("The Ridge Tent is $189. Free shipping on orders over $50.", None) == {
        "offer.missing_disclaimer": Severity.BLOCK  # free shipping's, not an amount's
    }
    found = offers.check(
        KIT, CopyToCheck(channel=Channel.EMAIL, subject="S", body="The tent is $189.", offer=None)
    )
    assert found == []
