"""Briefs the way a marketer writes them, planned on the seeded sample world (offline engine):
products matched against the catalog, audiences from purchase history, delays and conditions,
and every assumption listed."""

from __future__ import annotations

import pytest

from core import campaigns as repo
from core.catalog import list_products
from core.db import ProductRow
from graphs.operations import submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW
from tools.audience import compute_features

pytestmark = pytest.mark.integration

BOOT_BRIEF = (
    "Launch our new Cloudstep Hiking Boot to people who bought a tent from us. Email first, "
    "then an SMS reminder two days later to anyone who didn't click."
)


def test_launch_to_tent_buyers_with_an_sms_two_days_later_to_non_clickers(world: Deps) -> None:
    with world.db.session() as s:  # the new product is in the catalog, with no orders yet
        s.add(
            ProductRow(
                id="prd_new_boot",
                name="Cloudstep Hiking Boot",
                category="footwear",
                price=189.0,
                url="https://northwind.example/p/prd_new_boot",
                margin=0.4,
            )
        )
    boot = next(p for p in list_products(world.db) if p.name == "Cloudstep Hiking Boot")
    res = submit_brief(world, BOOT_BRIEF)
    assert res.plan is not None, res.questions
    plan = res.plan
    assert plan.objective.goal == "product_launch"
    assert f"product:{boot.id}" in plan.objective.audience_hints
    (audience,) = plan.audiences
    assert [(f.feature, f.op, f.value) for f in audience.filters] == [
        ("bought", "contains", "tent")
    ]
    assert [(s.channel, s.delay_hours, s.condition) for s in plan.journey] == [
        ("email", 0, "always"),
        ("sms", 48, "not_clicked"),
    ]
    assert any(boot.name in a and boot.id in a for a in res.assumptions)
    assert any("'tent'" in a for a in res.assumptions)
    # everyone drawn really ordered a tent, and not only tent buyers' favourite category
    drawn = {c for c, _ in repo.assignments(world.db, res.campaign_id)}
    assert drawn
    with world.db.session() as s:
        features = compute_features(s, as_of=NOW, customer_ids=drawn)
    assert all(any("Tent" in b for b in features[c].bought) for c in drawn)


def test_a_product_missing_from_the_catalog_is_said(world: Deps) -> None:
    res = submit_brief(
        world, "Launch our new Skyline Kayak to people who bought a tent from us, by email."
    )
    assert any("No product named 'Skyline Kayak' in the catalog" in a for a in res.assumptions)


def test_a_free_second_item_goes_to_a_person_for_approval(world: Deps) -> None:
    res = submit_brief(world, "Weekend promotion by email: buy any jacket, get the second 100% off")
    assert res.status == "awaiting_approval", res
    assert any("100%" in r for r in res.approval_reasons)
