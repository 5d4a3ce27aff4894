"""Briefs the way a marketer writes them, planned on the seeded sample world (offline engine):
products matched against the catalog, audiences from purchase history, delays and conditions,
and every assumption listed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import campaigns as repo
from core.catalog import list_products
from core.db import OutcomeRow, ProductRow
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


def test_a_launch_of_a_product_missing_from_the_catalog_asks_which(world: Deps) -> None:
    res = submit_brief(
        world, "Launch our new Cloudstep Trail Boot to people who bought a tent from us, by email."
    )
    assert res.plan is None and len(res.questions) == 1
    q = res.questions[0]
    assert "“Cloudstep Trail Boot” is not in the catalog" in q
    # the closest catalog products are listed: real ones, sharing a word with the name given
    listed = q.split("(closest: ", 1)[1].split(")", 1)[0].split(", ")
    names = {p.name for p in list_products(world.db)}
    assert listed and set(listed) <= names
    assert all({"Cloudstep", "Trail", "Boot"} & set(n.split()) for n in listed)


def test_a_free_second_item_goes_to_a_person_for_approval(world: Deps) -> None:
    res = submit_brief(world, "Weekend promotion by email: buy any jacket, get the second 100% off")
    assert res.status == "awaiting_approval", res
    assert any("100%" in r for r in res.approval_reasons)


def test_spent_over_200_is_an_audience_of_big_spenders(world: Deps) -> None:
    res = submit_brief(
        world, "Reach customers who spent over $200 with us and thank them with a free gift. Email."
    )
    assert res.plan is not None, res.questions
    assert res.plan.objective.goal == "retention"
    assert res.plan.objective.offer.kind == "gift"
    filters = [(f.feature, f.op, f.value) for a in res.plan.audiences for f in a.filters]
    assert filters == [("monetary", "gt", 200)]
    drawn = {c for c, _ in repo.assignments(world.db, res.campaign_id)}
    with world.db.session() as s:
        everyone = compute_features(s, as_of=NOW)
    assert drawn and len(drawn) < len(everyone)
    assert all(everyone[c].monetary > 200 for c in drawn)


def test_never_opened_leaves_out_everyone_who_opened_a_message(world: Deps) -> None:
    with world.db.session() as s:
        everyone = sorted(compute_features(s, as_of=NOW))
        openers = everyone[::3]
        for i, cid in enumerate(openers):
            s.add(
                OutcomeRow(
                    campaign_id="cmp_earlier",
                    customer_id=cid,
                    message_id=f"m{i}",
                    kind="opened",
                    value=0.0,
                    at=NOW - timedelta(days=40),
                )
            )
    res = submit_brief(
        world, "Re-engage people who never opened any of our emails: one SMS, 10% off, code HI10."
    )
    assert res.plan is not None, res.questions
    assert res.plan.objective.goal == "winback"
    assert [(f.feature, f.op, f.value) for f in res.plan.audiences[0].filters] == [
        ("opens", "eq", 0)
    ]
    assert any("open pixel" in a for a in res.assumptions)
    drawn = {c for c, _ in repo.assignments(world.db, res.campaign_id)}
    assert drawn and not drawn & set(openers)

    res = submit_brief(
        world, "Win back customers who have not opened an email in the last 30 days. Email."
    )
    assert res.plan is not None, res.questions
    filters = [(f.feature, f.op, f.value) for f in res.plan.audiences[0].filters]
    assert filters == [("days_since_open", "gte", 30)]
    drawn = {c for c, _ in repo.assignments(world.db, res.campaign_id)}
    # opened 40 days ago, or never: all in; nobody is left out by the window
    assert set(openers) & drawn


@pytest.mark.parametrize(
    ("brief", "goal"),
    [
        ("Warenkorb-Erinnerung per SMS nach 2 Stunden, kein Rabatt.", "cart_recovery"),
        ("Kunden reaktivieren, die seit 6 Monaten nicht bestellt haben, 15 % Rabatt.", "winback"),
        ("Begrüße unsere Neukunden mit 10 % Rabatt auf die zweite Bestellung.", "retention"),
    ],
)
def test_german_goal_words(world: Deps, brief: str, goal: str) -> None:
    res = submit_brief(world, brief)
    assert res.plan is not None, res.questions
    assert res.plan.objective.goal == goal
    if goal == "winback":
        assert ("recency_days", "gte", 180) in [
            (f.feature, f.op, f.value) for f in res.plan.audiences[0].filters
        ]
    if goal == "retention":
        assert [(f.feature, f.value) for f in res.plan.audiences[0].filters] == [
            ("lifecycle_stage", "new")
        ]


def test_a_launch_of_a_product_the_catalog_dates_long_ago_asks(world: Deps) -> None:
    with world.db.session() as s:
        s.add(
            ProductRow(
                id="prd_old_lamp",
                name="Lighthouse Lamp",
                category="home",
                price=59.0,
                url="https://northwind.example/p/prd_old_lamp",
                launched=(NOW - timedelta(days=400)).date(),
            )
        )
    lamp = next(p for p in list_products(world.db) if p.id == "prd_old_lamp")
    assert lamp.launched == (NOW - timedelta(days=400)).date()
    res = submit_brief(world, "Launch the new Lighthouse Lamp to home fans by email.")
    assert res.plan is None
    assert f"went on sale on {lamp.launched.isoformat()}, so it is not new" in res.questions[0]
