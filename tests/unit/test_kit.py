"""Brand kit model and loader: the sample kit, line-numbered errors, copy-bank rules."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.copybank import render_copy
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit, BrandKitError, load_brand_kit
from core.models import Channel, Goal, Offer

SAMPLE = Path(__file__).resolve().parents[2] / "brands" / "sample" / "brand.yaml"


@pytest.fixture(scope="module")
def kit() -> BrandKit:
    return load_brand_kit(SAMPLE)


def test_sample_kit_loads(kit: BrandKit) -> None:
    assert kit.id == "northwind"
    assert kit.name == "Northwind Outfitters"
    assert kit.allowed_link_domains == ["northwind.example"]
    assert kit.quiet_hours.start == 21 and kit.quiet_hours.end == 8
    assert kit.quiet_hours.is_quiet(22) and kit.quiet_hours.is_quiet(7)
    assert not kit.quiet_hours.is_quiet(8)
    assert kit.default_timezone == "America/New_York"
    assert kit.approval_policy.max_auto_discount_percent == 15
    assert set(kit.disclaimers.by_offer) == {"percent_off", "amount_off", "free_shipping", "gift"}


def test_copy_bank_covers_every_goal_and_channel_with_two_angles(kit: BrandKit) -> None:
    for goal, channel in itertools.product(Goal, (Channel.EMAIL, Channel.SMS)):
        angles = {t.angle for t in kit.copy_bank if t.goal == goal and t.channel == channel}
        assert len(angles) >= 2, (goal, channel, angles)


@pytest.mark.parametrize("first_name", ["Alex", "", "Zoë"])
@pytest.mark.parametrize(
    "offer",
    [
        Offer(kind="percent_off", percent=10, code="TRAIL10", expires="Sunday at midnight"),
        Offer(kind="free_shipping"),
        Offer(kind="amount_off", amount=10, currency="USD", min_order=50, code="TEN"),
        None,
    ],
)
def test_every_copy_bank_template_passes_every_check(
    kit: BrandKit, first_name: str, offer: Offer | None
) -> None:
    text = {
        "percent_off": "10% off",
        "free_shipping": "free shipping",
        "amount_off": "$10 off orders over $50",
    }
    for t in kit.copy_bank:
        subject, body = render_copy(
            t,
            {
                "first_name": first_name,
                "brand_name": kit.name,
                "product_name": "Switchback Trail Runner",
                "product_url": "https://northwind.example/p/switchback",
                "category": "footwear",
                "offer_text": text[offer.kind] if offer else "",
                "code": (offer.code or "") if offer else "",
                "expires": (offer.expires or "") if offer else "",
                "shop_url": kit.site_url,
            },
        )
        final = apply_footer(kit, t.channel, body, "https://northwind.example/u/t1", offer=offer)
        msg = CopyToCheck(channel=t.channel, subject=subject, body=final, offer=offer)
        assert check_message(kit, msg) == [], (t.goal, t.channel, t.angle, subject, final)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "brand.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_invalid_value_names_file_field_and_line(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace(
        "max_auto_discount_percent: 15", "max_auto_discount_percent: lots"
    )
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "max_auto_discount_percent" in s)
    with pytest.raises(BrandKitError) as err:
        load_brand_kit(_write(tmp_path, text))
    msg = str(err.value)
    assert f"brand.yaml:{line}: approval_policy.max_auto_discount_percent:" in msg
    assert "valid number" in msg


def test_unknown_field_is_reported_with_its_line(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("currency: USD", "currency: USD\ncolour_scheme: green")
    line = next(i for i, s in enumerate(text.splitlines(), 1) if s.startswith("colour_scheme"))
    with pytest.raises(BrandKitError, match=rf"brand.yaml:{line}: colour_scheme: unknown field"):
        load_brand_kit(_write(tmp_path, text))


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    with pytest.raises(BrandKitError, match=r"brand.yaml:3: invalid YAML: mapping values"):
        load_brand_kit(_write(tmp_path, "id: x\nname: y\nversion: a: b\n"))


def test_template_with_unknown_variable_is_rejected(tmp_path: Path) -> None:
    text = SAMPLE.read_text().replace("{{ product_url }}", "{{ income }}", 1)
    with pytest.raises(BrandKitError, match=r"copy_bank\.\d+: .*unknown variable\(s\) income"):
        load_brand_kit(_write(tmp_path, text))


def test_missing_file_is_a_brand_kit_error(tmp_path: Path) -> None:
    with pytest.raises(BrandKitError, match="cannot read"):
        load_brand_kit(tmp_path / "nope.yaml")


def test_fingerprint_tracks_content(kit: BrandKit) -> None:
    same = load_brand_kit(SAMPLE)
    assert same.fingerprint() == kit.fingerprint()
    changed = kit.model_copy(update={"banned_phrases": [*kit.banned_phrases, "mega deal"]})
    assert changed.fingerprint() != kit.fingerprint()
