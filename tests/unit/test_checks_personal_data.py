"""Personal data in copy: nobody's contact details but the recipient's own; no private values."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.checks import privacy
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
ANA = {"email": "ana.lopez@example.com", "phone": "+1 207 555 0142", "first_name": "Ana"}


def _personal(body: str, recipient: dict[str, str] | None = None) -> list[str | None]:
    msg = CopyToCheck(channel=Channel.PUSH, body=body, recipient=recipient)
    return [f.span for f in privacy.check(KIT, msg) if f.rule_id == "privacy.personal_data"]


@pytest.mark.parametrize(
    ("body", "span"),
    [
        ("Jake (jake.miller@gmail.com) loved these boots.", "jake.miller@gmail.com"),
        ("Questions? Call Dana on 555-867-5309.", "555-867-5309"),
        ("Call (207) 555-0199 today", "(207) 555-0199"),
        ("Our UK friend +44 20 7946 0958 says hi", "+44 20 7946 0958"),
        ("Your neighbour at 42 Maple Street just bought one.", "42 Maple Street"),
    ],
)
def test_other_peoples_contact_details_block(body: str, span: str) -> None:
    assert _personal(body, ANA) == [span]


@pytest.mark.parametrize(
    "body",
    [
        "We sent this to ana.lopez@example.com because you signed up.",
        "Texts go to +1 (207) 555-0142.",
        "Questions? Write to help@northwind.example.",
        "Visit us at 1200 Harbor Way, Suite 300, Portland.",
        "Rated 20,000 mm waterproof, 3 layers, order 1234567890.",
        "Prices from $129.99 to $249.99, 2024 model.",
    ],
)
def test_the_recipients_own_details_and_the_brands_pass(body: str) -> None:
    assert _personal(body, ANA) == []


def test_without_a_recipient_any_address_is_someone_elses() -> None:
    assert _personal("We sent this to ana.lopez@example.com.") == ["ana.lopez@example.com"]


def test_private_trait_values_never_reach_copy() -> None:
    recipient = {**ANA, "last_name": "Lopez-Garcia", "income": "85000", "age": "34"}
    msg = CopyToCheck(
        channel=Channel.PUSH,
        subject="Ana Lopez-Garcia, picked for you",
        body="Earning 85000 a year? You deserve this.",
        recipient=recipient,
    )
    found = [(f.rule_id, f.span, f.field) for f in check_message(KIT, msg)]
    assert ("privacy.private_field", "Lopez-Garcia", "subject") in found
    assert ("privacy.private_field", "85000", "body") in found
    near = msg.model_copy(update={"subject": "Picked for you", "body": "Earning 85,000?"})
    assert check_message(KIT, near) == []  # near misses are not guessed at


def test_short_or_empty_private_values_are_ignored() -> None:
    recipient = {"gender": "f", "age": "30", "income": "", "first_name": "Ana"}
    msg = CopyToCheck(channel=Channel.PUSH, body="Ana, 30 new fleeces are in.", recipient=recipient)
    assert check_message(KIT, msg) == []


@pytest.mark.parametrize(
    "body",
    ["Shops near your home are out of stock.", "Perfect for your child's age group."],
)
def test_location_and_minors_are_sensitive(body: str) -> None:
    msg = CopyToCheck(channel=Channel.PUSH, body=body)
    assert [f.rule_id for f in privacy.check(KIT, msg)] == ["privacy.sensitive_topic"]


@pytest.mark.parametrize(
    "body",
    [
        "Call our repair team at (207) 555-0142.",
        "Questions? Ring +1 800 555 0199, 8am-6pm.",
        "Send torn jackets to repairs@northwind-help.example.",
        "Visit our flagship at 48 Commercial Street, Portland.",
        "Northwind Outfitters, 1200 Harbor Way, Suite 300, Portland",
    ],
)
def test_the_brands_own_contact_details_are_not_personal_data(body: str) -> None:
    assert _personal(body) == []
    assert check_message(KIT, CopyToCheck(channel=Channel.PUSH, body=body)) == []


def test_a_number_close_to_the_brands_is_still_personal_data() -> None:
    assert _personal("Call (207) 555-0143.") == ["(207) 555-0143"]
    assert _personal("Write to repairs@northwind-help.example.com") == [
        "repairs@northwind-help.example.com"
    ]


def test_the_brands_store_address_matches_when_abbreviated() -> None:
    assert _personal("Your order is ready at 48 Commercial St.") == []
    assert _personal("Our Burlington store opens at 112 Church St. on Saturday.") == []
    assert _personal("Meet Dana at 112 Maple St. on Saturday.") == ["112 Maple St."]
