"""Banned phrases and competitor names, including obfuscation tricks."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck
from brand_guardrails.checks import banned
from brand_guardrails.kit import load_brand_kit
from core.models import Channel

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _ids(body: str, subject: str | None = None) -> list[str]:
    msg = CopyToCheck(channel=Channel.EMAIL, subject=subject, body=body)
    return [f.rule_id for f in banned.check(KIT, msg)]


@pytest.mark.parametrize(
    "body",
    [
        "Act now before it ends.",
        "A.C.T  N.O.W and save.",
        "ａｃｔ ｎｏｗ",  # full-width
        "So сheap!",  # Cyrillic с
        "Claim your pr1ze",  # leetspeak
        "ur\u200bgent",  # zero-width space
        "w-i-n-n-e-r",
        "C l i c k   h e r e",
        "Cl1ck h3re",
        "F R E E   E N T R Y",
    ],
)
def test_banned_phrase_found_through_disguise(body: str) -> None:
    assert _ids(body) == ["banned.phrase"]


@pytest.mark.parametrize(
    "body",
    [
        "The impact now shows in our numbers.",  # 'act now' inside a word
        "Click the link below.",
        "Freedom to roam, free returns.",
        "Cheapskates need not apply to our workshop.",
        "Winners of the photo contest: see the gallery.",
    ],
)
def test_near_misses_pass(body: str) -> None:
    assert _ids(body) == []


def test_subject_is_checked_and_reported_as_subject() -> None:
    msg = CopyToCheck(channel=Channel.EMAIL, subject="URGENT: boots", body="New boots.")
    (f,) = banned.check(KIT, msg)
    assert f.field == "subject" and f.span == "URGENT" and f.suggested_fix


@pytest.mark.parametrize(
    "body",
    ["Lighter than Summit & Spruce", "summit and spruce", "T r a i l C r a f t", "Alder & Pine"],
)
def test_competitors(body: str) -> None:
    assert _ids(body) == ["banned.competitor"]


def test_kit_without_banned_phrases_finds_nothing() -> None:
    bare = KIT.model_copy(update={"banned_phrases": [], "competitor_names": []})
    msg = CopyToCheck(channel=Channel.EMAIL, body="Act now, cheaper than TrailCraft")
    assert banned.check(bare, msg) == []
    found = sorted(f.rule_id for f in banned.check(KIT, msg))
    assert found == ["banned.competitor", "banned.phrase"]
