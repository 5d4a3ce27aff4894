"""Customer features from real databases: hand-built histories with known answers, the sample
world, and the same results on PostgreSQL as on SQLite."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text

from core.catalog import bestsellers, get_products, list_products
from core.customers import consent_granted, get_customers
from core.db import CustomerRow, Database, EventRow
from tools.audience import CustomerFeatures, compute_features
from tools.sandbox.sample_world import generate_world, load_world

pytestmark = pytest.mark.integration

AS_OF = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def _history() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Customers and events whose features are known by hand."""
    customers: list[dict[str, Any]] = [
        {"id": cid, "country": country, "locale": "en-US", "traits": {}, "created_at": _ago(400)}
        for cid, country in [
            ("prospect", "US"),
            ("new", "GB"),
            ("active", "DE"),
            ("at_risk", None),
            ("lapsed", "FR"),
            ("edge60", "US"),
            ("edge120", "US"),
            ("cart", "US"),
            ("cart_then_order", "US"),
            ("silent", "JP"),
        ]
    ]
    events: list[dict[str, Any]] = []

    def ev(user: str, name: str, days: float, pid: str, cat: str, revenue: float = 0.0) -> None:
        props: dict[str, Any] = {"product_id": pid, "category": cat, "price": revenue or 10.0}
        if name == "Order Completed":
            props["revenue"] = revenue
        events.append(
            {
                "message_id": f"m{len(events)}",
                "type": "track",
                "user_id": user,
                "event": name,
                "properties": props,
                "traits": {},
                "timestamp": _ago(days),
            }
        )

    ev("prospect", "Product Viewed", 3, "p1", "home")
    ev("prospect", "Product Viewed", 2, "p2", "home")
    ev("prospect", "Product Viewed", 45, "p3", "outdoor")  # outside views_30d
    ev("prospect", "Product Viewed", -1, "p9", "apparel")  # after as_of: ignored
    ev("new", "Order Completed", 10, "p1", "home", 30.0)
    ev("new", "Order Completed", -2, "p2", "home", 99.0)  # after as_of: ignored
    ev("active", "Order Completed", 100, "p3", "outdoor", 100.0)
    ev("active", "Order Completed", 40, "p4", "outdoor", 50.5)
    ev("active", "Order Completed", 20, "p5", "apparel", 20.0)
    ev("active", "Product Added", 30, "p6", "apparel")
    ev("at_risk", "Order Completed", 90, "p7", "footwear", 80.0)
    ev("lapsed", "Order Completed", 200, "p8", "accessories", 15.0)
    ev("lapsed", "Product Viewed", 5, "p1", "home")
    ev("edge60", "Order Completed", 60, "p1", "home", 10.0)
    ev("edge60", "Order Completed", 200, "p1", "home", 10.0)
    ev("edge120", "Order Completed", 120, "p1", "home", 10.0)
    ev("cart", "Order Completed", 50, "p2", "home", 12.0)
    ev("cart", "Product Added", 6.9, "p3", "outdoor")
    ev("cart_then_order", "Product Added", 3, "p4", "outdoor")
    ev("cart_then_order", "Order Completed", 2, "p4", "outdoor", 40.0)
    # identify events carry no product and are not behaviour
    events.append(
        {
            "message_id": "identify1",
            "type": "identify",
            "user_id": "silent",
            "event": None,
            "properties": {},
            "traits": {"email": "silent@example.com"},
            "timestamp": _ago(1),
        }
    )
    return customers, events


def _load_history(db: Database) -> None:
    customers, events = _history()
    with db.session() as s:
        s.execute(insert(CustomerRow), customers)
        s.execute(insert(EventRow), events)


def _check_known_answers(db: Database) -> None:
    with db.session() as s:
        f = compute_features(s, as_of=AS_OF)
    assert set(f) == {c["id"] for c in _history()[0]}

    p = f["prospect"]
    assert (p.lifecycle_stage, p.recency_days, p.frequency, p.monetary) == ("prospect", None, 0, 0)
    assert p.views_30d == 2
    assert p.favorite_category == "home"  # no orders: most viewed
    assert p.last_viewed_product_id == "p2"  # the future view is ignored
    assert p.last_bought_product_id is None and p.last_cart_product_id is None
    assert not p.cart_abandoned

    n = f["new"]
    assert (n.lifecycle_stage, n.frequency, n.monetary) == ("new", 1, 30.0)
    assert n.recency_days == pytest.approx(10.0)
    assert n.last_bought_product_id == "p1" and n.country == "GB"

    a = f["active"]
    assert (a.lifecycle_stage, a.frequency, a.monetary) == ("active", 3, 170.5)
    assert a.favorite_category == "outdoor"  # 2 orders beat 1 order + 1 cart
    assert a.recency_days == pytest.approx(20.0)
    assert a.last_bought_product_id == "p5" and a.last_cart_product_id == "p6"
    assert not a.cart_abandoned  # the cart add is 30 days old

    assert f["at_risk"].lifecycle_stage == "at_risk" and f["at_risk"].country is None
    lapsed = f["lapsed"]
    assert lapsed.lifecycle_stage == "lapsed" and lapsed.views_30d == 1
    assert lapsed.favorite_category == "accessories"  # orders beat views

    # Boundaries: exactly 60 days is still active, exactly 120 days still at risk.
    assert f["edge60"].lifecycle_stage == "active"
    assert f["edge120"].lifecycle_stage == "at_risk"

    assert f["cart"].cart_abandoned and f["cart"].last_cart_product_id == "p3"
    assert not f["cart_then_order"].cart_abandoned

    silent = f["silent"]
    assert silent.lifecycle_stage == "prospect" and silent.favorite_category is None
    assert silent.views_30d == 0 and silent.last_viewed_product_id is None


def test_known_answers_on_sqlite(db: Database) -> None:
    _load_history(db)
    _check_known_answers(db)


def test_as_of_moves_the_boundaries(db: Database) -> None:
    _load_history(db)
    with db.session() as s:
        # Eleven days earlier, `new` has not ordered yet and `cart` has not added to cart.
        earlier = compute_features(s, as_of=AS_OF - timedelta(days=11))
        later = compute_features(s, as_of=AS_OF + timedelta(days=1))
        subset = compute_features(s, as_of=AS_OF, customer_ids=["new", "nobody", "cart"])
    assert earlier["new"].lifecycle_stage == "prospect"
    assert earlier["new"].recency_days is None
    assert earlier["cart"].cart_abandoned is False  # the cart add is in its future
    assert earlier["edge60"].lifecycle_stage == "active"  # 49 days
    assert later["edge60"].lifecycle_stage == "at_risk"  # 61 days
    assert later["new"].frequency == 1  # the order 2 days after AS_OF is still in the future
    assert set(subset) == {"new", "cart"}
    with db.session() as s:
        assert subset["new"] == compute_features(s, as_of=AS_OF)["new"]


@pytest.mark.parametrize(
    "only",
    [
        {"lifecycle_stage"},
        {"favorite_category"},
        {"last_viewed_product_id", "monetary"},
        {"bought"},
        {"opens", "country"},
        set(CustomerFeatures.model_fields) - {"customer_id"},
    ],
)
def test_only_the_features_asked_for_are_computed_and_they_are_right(
    db: Database, only: set[str]
) -> None:
    _load_history(db)
    with db.session() as s:
        full = compute_features(s, as_of=AS_OF)
        part = compute_features(s, as_of=AS_OF, customer_ids=list(full), only=only)
    assert set(part) == set(full)
    for cid, f in full.items():
        assert part[cid].model_dump(include=only) == f.model_dump(include=only)
    # What was not asked for keeps its no-data value (its query did not run).
    totals = {"recency_days", "frequency", "monetary", "cart_abandoned", "lifecycle_stage"}
    if not only & (totals | {"views_30d"}):  # one query gives all of these
        assert {f.frequency for f in part.values()} == {0}
    if "favorite_category" not in only:
        assert {f.favorite_category for f in part.values()} == {None}


def test_naive_as_of_is_refused(db: Database) -> None:
    with db.session() as s, pytest.raises(ValueError, match="timezone"):
        compute_features(s, as_of=datetime(2025, 1, 1))


def test_sample_world_loads_once_and_has_a_realistic_lifecycle_mix(db: Database) -> None:
    world = generate_world(seed=11, customers=3000, now=AS_OF)
    load_world(db, world)
    load_world(db, world)  # idempotent
    with db.session() as s:
        counts = {
            t: s.execute(text(f"select count(*) from {t}")).scalar_one()
            for t in ("customers", "events", "products")
        }
        assert counts == {"customers": 3000, "events": len(world.events), "products": 50}
        features = compute_features(s, as_of=AS_OF)
        stages = Counter(f.lifecycle_stage for f in features.values())
        for stage in ("prospect", "new", "active", "at_risk", "lapsed"):
            assert stages[stage] / 3000 > 0.05, stages
        assert 0.005 < sum(f.cart_abandoned for f in features.values()) / 3000 < 0.1
        # Stored rows read back equal to the generated ones.
        first = world.customers[0]
        assert get_customers(db, [first.id, "nobody"]) == {first.id: first}
        opted_out = next(
            c
            for c in world.customers
            if any(not k.granted and k.channel == "email" for k in c.consent)
        )
        assert not consent_granted(db, opted_out.id, "email")
        assert list_products(db) == sorted(world.products, key=lambda p: p.id)
        assert set(get_products(db, ["prd_001", "zzz"])) == {"prd_001"}
        top = bestsellers(db, limit=3)
        orders = Counter(
            e.properties["product_id"] for e in world.events if e.event == "Order Completed"
        )
        assert [p.id for p in top] == [pid for pid, _ in orders.most_common(3)]
        outdoor = bestsellers(db, category="outdoor", limit=20)
        assert len(outdoor) == 10 and {p.category for p in outdoor} == {"outdoor"}


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A PostgreSQL database with the schema in a fresh schema, dropped afterwards."""
    import psycopg

    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432 (database `test`): {exc}")
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = Database(PG_URL)
    with admin.engine.begin() as conn:
        conn.execute(text(f'create schema "{schema}"'))
    db = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.mark.postgres
def test_same_features_on_postgresql_as_on_sqlite(db: Database, pg_db: Database) -> None:
    _load_history(pg_db)
    _check_known_answers(pg_db)
    world = generate_world(seed=5, customers=400, now=AS_OF)
    for target in (db, pg_db):
        load_world(target, world)
    for as_of in (AS_OF, AS_OF - timedelta(days=45)):
        with db.session() as s1, pg_db.session() as s2:
            lite = compute_features(s1, as_of=as_of, customer_ids=[c.id for c in world.customers])
            pg = compute_features(s2, as_of=as_of, customer_ids=[c.id for c in world.customers])
        assert lite == pg
