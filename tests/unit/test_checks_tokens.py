"""Unresolved tokens and rendering leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import tokens
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _ids(body: str) -> list[str]:
    return [f.rule_id for f in tokens.check(KIT, CopyToCheck(channel=Channel.EMAIL, body=body))]


@pytest.mark.parametrize(
    "body",
    [
        "Hi {{ first_name }},",
        "{% if x %}Save{% endif %}",
        "Hi [FirstName],",
        "Your [Product Name] waits",
        "Hi *|FNAME|*",
        "Hi %FIRSTNAME%",
        "Use code {code}",
        "Hi None,",
        "Hi nan!",
        "Your undefined is waiting",
        "From $nan",
        "https://northwind.example/p/None",
        "Price: NaN",
    ],
)
def test_leftovers_block(body: str) -> None:
    found = _ids(body)
    assert found and set(found) == {"tokens.unresolved"}


@pytest.mark.parametrize("body", ["Hi ,", "Hello !", "Use code . Thanks"])
def test_empty_values_block(body: str) -> None:
    assert _ids(body) == ["tokens.empty_value"]


@pytest.mark.parametrize(
    "body",
    [
        "None of our jackets leave without a seam check.",
        "Second to none.",
        "Hi there, 20% off. Hi :) Hi ... ok",
        "Made with 100% wool.",
        "Hi Alex, use code TRAIL10.",
    ],
)
def test_normal_copy_passes(body: str) -> None:
    assert _ids(body) == []


def test_private_field_placeholder_is_a_privacy_finding() -> None:
    assert _ids("Based on your {{ income }}") == ["privacy.private_field"]
    assert _ids("Born on [date_of_birth]") == ["privacy.private_field"]


def test_bracketed_ad_label_is_a_disclosure_not_a_placeholder() -> None:
    msg = CopyToCheck(channel=Channel.EMAIL, subject="[Ad] New boots", body="Hi Sam, new boots.")
    assert tokens.check(KIT, msg) == []
    assert _ids("[Product] is back") == ["tokens.unresolved"]


@pytest.mark.parametrize(
    "body",
    [
        "Hi {FirstName},",
        "Hi [first_name],",
        "Hi [FNAME],",
        "Dear [First Name],",
        "Hi <<first_name>>,",
        "Hi *|FNAME|*,",
        "Hi %FNAME%,",
        "Hi {{x}}",
    ],
)
def test_placeholder_syntaxes_of_templates_and_esps_block(body: str) -> None:
    assert _ids(body) == ["tokens.unresolved"]


@pytest.mark.parametrize(
    "body",
    [
        "[New] The Ridge jacket is here",
        "The reviewer called it “the warmest [sic] jacket we own”.",
        "[Update] Your order has shipped",
        "[Order Update] Your parcel is on its way",
        "[NEW] Trail runners in three colours",
        "[Anzeige] Neue Wanderschuhe sind da",
    ],
)
def test_bracketed_words_of_ordinary_copy_pass(body: str) -> None:
    assert _ids(body) == []
