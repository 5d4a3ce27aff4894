"""Links must not carry personal data in tracking parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import links
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _ids(body: str) -> list[str]:
    msg = CopyToCheck(channel=Channel.EMAIL, body=body)
    return [f.rule_id for f in links.check(KIT, msg)]


@pytest.mark.parametrize(
    "url",
    [
        "https://northwind.example/p/1?utm_source=email&email=ana@example.com",
        "https://northwind.example/p/1?e=ana%40example.com",
        "https://northwind.example/p/1?first_name=Ana&utm_medium=email",
        "https://northwind.example/p/1?phone=%2B12075550142",
        "https://northwind.example/track/ana@example.com/p/1",
        "https://northwind.example/p/1?uid=12075550142",
    ],
)
def test_personal_data_in_links_blocks(url: str) -> None:
    assert _ids(f"See it: {url}") == ["links.personal_data_in_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://northwind.example/p/1?utm_source=email&utm_campaign=winback",
        "https://northwind.example/p/1?ref=cmp_123&sku=RJ-2",
        "https://northwind.example/p/1?name=",
    ],
)
def test_ordinary_tracking_passes(url: str) -> None:
    assert _ids(f"See it: {url}") == []


def test_a_foreign_link_with_personal_data_gets_both_findings() -> None:
    assert sorted(_ids("https://evil.com/?email=a@b.co")) == [
        "links.domain_not_allowed",
        "links.personal_data_in_url",
    ]
