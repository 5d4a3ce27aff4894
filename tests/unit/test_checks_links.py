"""Links stay on the brand's allowed domains."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import links
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _spans(body: str) -> list[str | None]:
    return [f.span for f in links.check(KIT, CopyToCheck(channel=Channel.EMAIL, body=body))]


@pytest.mark.parametrize(
    ("body", "span"),
    [
        ("See bit.ly/3xYz.", "bit.ly/3xYz"),
        ("See https://evil.example.com/boots", "https://evil.example.com/boots"),
        ("See https://northwind.example.evil.com/x", "https://northwind.example.evil.com/x"),
        ("See https://northwind.example@evil.com/x", "https://northwind.example@evil.com/x"),
        ("See www.cheap-gear.com!", "www.cheap-gear.com"),
        ("See http://192.168.1.5/boots", "http://192.168.1.5/boots"),
        ("Visit TINYURL.COM/abc", "TINYURL.COM/abc"),
    ],
)
def test_foreign_links_block(body: str, span: str) -> None:
    assert _spans(body) == [span]


@pytest.mark.parametrize(
    "body",
    [
        "See https://northwind.example/p/ridge-2.",
        "See https://shop.northwind.example/x and HTTPS://NORTHWIND.EXAMPLE/y",
        "Write to help@northwind.example or help@gmail.com.",
        "Visit northwind.example today.",
        "No links here. e.g. this. And 3.5 stars.",
    ],
)
def test_allowed_links_pass(body: str) -> None:
    assert _spans(body) == []


def test_the_systems_own_unsubscribe_link_is_exempt_but_only_that_exact_link() -> None:
    unsub = "http://127.0.0.1:8000/u/abc.def"
    body = f"See https://northwind.example/p/1\n--\nUnsubscribe: {unsub}"
    placed = CopyToCheck(channel=Channel.EMAIL, subject="s", body=body, system_links=(unsub,))
    assert links.check(KIT, placed) == []
    # the same host written by the copy writer is still blocked
    sneaky = CopyToCheck(
        channel=Channel.EMAIL,
        subject="s",
        body=body + " http://127.0.0.1:8000/win",
        system_links=(unsub,),
    )
    assert [f.span for f in links.check(KIT, sneaky)] == ["http://127.0.0.1:8000/win"]
