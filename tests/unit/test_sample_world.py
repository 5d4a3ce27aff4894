"""The synthetic store: deterministic, believable, privacy-relevant, valid by the domain models."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.models import Channel, Customer, Event, Product
from tools.sandbox.sample_world import ANGLES, CATEGORIES, Latent, World, generate_world, latent_for

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(seed=7, customers=2000, now=NOW)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a = generate_world(seed=3, customers=150, products=20, now=NOW)
    b = generate_world(seed=3, customers=150, products=20, now=NOW)
    c = generate_world(seed=4, customers=150, products=20, now=NOW)
    assert a.model_dump() == b.model_dump()
    assert a.model_dump()["events"] != c.model_dump()["events"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        generate_world(customers=1, now=datetime(2025, 1, 1))


def test_latent_is_a_pure_function_of_seed_and_id() -> None:
    a = latent_for("cus_000001", 7)
    assert a == latent_for("cus_000001", 7)
    assert a != latent_for("cus_000001", 8)
    assert a != latent_for("cus_000002", 7)
    Latent.model_validate(a.model_dump())  # within the declared bounds
    assert set(a.angle_affinity) == set(ANGLES)
    assert set(a.category_affinity) == set(CATEGORIES)
    assert abs(sum(a.category_affinity.values()) - 1) < 1e-9
    assert {c.value for c in Channel} <= set(a.channel_affinity)


def test_every_object_is_valid_by_the_domain_models(world: World) -> None:
    for c in world.customers:
        assert Customer.model_validate(c.model_dump()) == c
    for p in world.products:
        assert Product.model_validate(p.model_dump()) == p
    for e in world.events:
        assert Event.model_validate(e.model_dump(by_alias=True)) == e


def test_customers_are_believable_and_consistent(world: World) -> None:
    customers = world.customers
    assert len(customers) == 2000
    assert len({c.id for c in customers}) == 2000
    emails = [c.email for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z0-9.]+@example\.(com|org|net)", e or "") for e in emails), (
        "e-mails only at the reserved example domains"
    )
    phones = [c.phone for c in customers if c.phone]
    assert all(re.fullmatch(r"\+[1-9]\d{7,14}", p) for p in phones)
    zones = [c.timezone for c in customers]
    assert 0 < zones.count(None) < 100, "a few people without a timezone"
    for z in {z for z in zones if z}:
        ZoneInfo(z)
    countries = Counter(c.country for c in customers)
    assert {"US", "GB", "DE", "FR", "AU", "JP", "BR", "CA"} <= set(countries)
    assert len({z for c in customers if c.country == "US" for z in [c.timezone] if z}) >= 4
    for c in customers:
        assert c.country and c.locale.endswith(c.country if c.country != "GB" else "GB")
        assert c.created_at is not None and c.created_at <= NOW
        assert "date_of_birth" in c.traits  # a private trait for the privacy rules
    assert any("notes" in c.traits for c in customers)


def test_consent_shares(world: World) -> None:
    n = len(world.customers)
    email_out = sum(
        1
        for c in world.customers
        for k in c.consent
        if k.channel == Channel.EMAIL and not k.granted
    )
    sms_in = sum(
        1 for c in world.customers for k in c.consent if k.channel == Channel.SMS and k.granted
    )
    assert 0.05 < email_out / n < 0.11
    assert 0.52 < 1 - sms_in / n < 0.68
    for c in world.customers:
        assert len({k.channel for k in c.consent}) == len(c.consent)
        for k in c.consent:
            assert k.source and k.at.tzinfo is not None
            assert c.created_at is not None and c.created_at <= k.at <= NOW
        if any(k.channel == Channel.SMS and k.granted for k in c.consent):
            assert c.phone


def test_catalog(world: World) -> None:
    products = world.products
    assert len(products) == 50
    assert len({p.id for p in products}) == 50
    assert len({p.name for p in products}) == 50
    assert Counter(p.category for p in products) == dict.fromkeys(CATEGORIES, 10)
    for p in products:
        assert p.url == f"https://northwind.example/p/{p.id}"
        assert 0 < p.price < 400 and 0.2 <= p.margin <= 0.6


def test_events(world: World) -> None:
    events = world.events
    assert len({e.message_id for e in events}) == len(events)
    assert all(e.timestamp.tzinfo is not None and e.timestamp <= NOW for e in events)
    names = Counter(e.event for e in events)
    assert names["Product Viewed"] > names["Product Added"] > names["Order Completed"] > 0
    assert names[None] == len(world.customers)  # one identify per person
    catalog = {p.id: p for p in world.products}
    ids = {c.id for c in world.customers}
    for e in events:
        assert e.user_id in ids
        if e.type == "track":
            p = catalog[e.properties["product_id"]]
            assert e.properties["category"] == p.category
            assert e.timestamp >= NOW - timedelta(days=360)
        if e.event == "Order Completed":
            assert e.properties["revenue"] == p.price
    # Browsing covers the last 90 days; purchases reach further back (at_risk, lapsed exist).
    views = [e.timestamp for e in events if e.event == "Product Viewed"]
    orders = [e.timestamp for e in events if e.event == "Order Completed"]
    assert min(orders) < NOW - timedelta(days=150)
    assert max(views) > NOW - timedelta(days=2)


def test_behaviour_follows_the_latent_preferences(world: World) -> None:
    # People buy mostly in the category they have the highest affinity for.
    cats: dict[str, Counter[str]] = {}
    for e in world.events:
        if e.type == "track":
            cats.setdefault(e.user_id, Counter())[e.properties["category"]] += 1
    hits = 0
    for cid, counts in cats.items():
        aff = latent_for(cid, world.seed).category_affinity
        hits += counts.most_common(1)[0][0] == max(aff, key=lambda k: aff[k])
    assert hits / len(cats) > 0.5
