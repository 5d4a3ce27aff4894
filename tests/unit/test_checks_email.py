"""E-mail CAN-SPAM checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import email
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import load_brand_kit
from core.models import Channel, Severity

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
FINAL = apply_footer(KIT, Channel.EMAIL, "Hi there,\n\nNew boots.", "https://northwind.example/u/1")


def _ids(body: str, subject: str | None = "New boots") -> list[str]:
    return [
        f.rule_id
        for f in email.check(KIT, CopyToCheck(channel=Channel.EMAIL, subject=subject, body=body))
    ]


def test_footer_makes_it_compliant() -> None:
    assert _ids(FINAL) == []


def test_missing_unsubscribe_address_and_sender_block() -> None:
    assert _ids("Hi there,\n\nNew boots.") == [
        "email.unsubscribe_missing",
        "email.postal_address_missing",
        "email.sender_identity_missing",
        "email.ad_disclosure_missing",
    ]


def test_address_with_different_spacing_is_accepted() -> None:
    body = "Hi\nUnsubscribe here: https://northwind.example/u/2\n" + KIT.postal_address.replace(
        ", ", "\n"
    )
    assert _ids(body) == ["email.ad_disclosure_missing"]


@pytest.mark.parametrize("subject", ["RE: your order", "Fwd: boots", "FW: x", "re : hi"])
def test_fake_reply_subject_blocks(subject: str) -> None:
    assert _ids(FINAL, subject) == ["email.deceptive_subject"]


def test_subject_mentioning_re_later_passes() -> None:
    assert _ids(FINAL, "Ready for RE: the new range") == []


def test_long_subject_warns_and_missing_subject_blocks() -> None:
    (f,) = email.check(KIT, CopyToCheck(channel=Channel.EMAIL, subject="x" * 61, body=FINAL))
    assert f.rule_id == "email.subject_too_long" and f.severity == Severity.WARN
    assert _ids(FINAL, None) == ["email.subject_missing"]


def test_other_channels_are_not_checked() -> None:
    assert email.check(KIT, CopyToCheck(channel=Channel.SMS, body="x")) == []


def test_sender_identity_and_ad_disclosure_come_with_the_footer() -> None:
    assert "Northwind Outfitters" in FINAL and KIT.channel_rules.email.ad_disclosure in FINAL
    stripped = FINAL.replace(KIT.channel_rules.email.ad_disclosure or "", "")
    assert _ids(stripped) == ["email.ad_disclosure_missing"]


@pytest.mark.parametrize(
    ("subject", "extra"),
    [("[Ad] New boots", ""), ("New boots", "\nThis is an advertisement.")],
)
def test_other_clear_ad_disclosures_are_accepted(subject: str, extra: str) -> None:
    body = FINAL.replace(KIT.channel_rules.email.ad_disclosure or "", "") + extra
    assert _ids(body, subject) == []


def test_no_ad_disclosure_needed_when_the_kit_does_not_ask() -> None:
    rules = KIT.channel_rules.model_copy(
        update={"email": KIT.channel_rules.email.model_copy(update={"ad_disclosure": None})}
    )
    kit = KIT.model_copy(update={"channel_rules": rules})
    body = FINAL.replace(KIT.channel_rules.email.ad_disclosure or "", "")
    msg = CopyToCheck(channel=Channel.EMAIL, subject="New boots", body=body)
    assert email.check(kit, msg) == []


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("Northwind Outfitters <hello@northwind.example>", True),
        ("HELLO@northwind.example", True),
        ("Northwind Outfitters <deals@northwind-mail.biz>", False),
        ("PayPal Support <hello@northwind.example.evil.com>", False),
    ],
)
def test_from_header_must_be_the_brands_sender(sender: str, ok: bool) -> None:
    msg = CopyToCheck(channel=Channel.EMAIL, subject="New boots", body=FINAL, sender=sender)
    found = [f.rule_id for f in email.check(KIT, msg)]
    assert found == ([] if ok else ["email.sender_mismatch"])
