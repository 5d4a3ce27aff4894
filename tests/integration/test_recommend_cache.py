"""The recommender fit is kept between activations: a trigger tick that enrols a few people
does not scan every order again, and a new order or an identity link makes the next activation
refit (counted by `tools.recommend.FITS`, not timed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import insert, select

from agents.journeys import scan_trigger
from core.catalog import list_products, orders_fingerprint, purchase_history
from core.db import ConsentRow, CustomerRow, Database, MessageRow
from core.events import ingest_events
from core.models import Event, Product, TrackingPolicy
from core.settings import Settings
from graphs.operations import decide, submit_brief
from tests.integration.conftest import NOW, seeded
from tools.audience import compute_features
from tools.recommend import FITS, fitted

pytestmark = pytest.mark.integration

BRIEF = "Remind people who leave something in their cart, by email."


def _track(mid: str, at: datetime, name: str, product: str, **who: str) -> Event:
    return Event.model_validate(
        {
            "type": "track",
            "messageId": mid,
            "event": name,
            "properties": {"product_id": product},
            "timestamp": at.isoformat(),
            **who,
        }
    )


def _messages(db: Database, cid: str) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(MessageRow.id).where(MessageRow.campaign_id == cid))))


def _never_bought(db: Database, people: list[str]) -> str:
    owned = purchase_history(db, customer_ids=people)
    return next(p for p in people if p not in owned)


def test_a_trigger_tick_reuses_the_fit_until_a_new_order_comes_in(settings: Settings) -> None:
    deps = seeded(settings, customers=300, with_rules=False)
    db = deps.db
    res = submit_brief(deps, BRIEF)
    assert res.approval_id and res.plan is not None and res.plan.objective.trigger is not None
    decide(deps, res.approval_id, approved=True, decided_by="ana")
    cid = res.campaign_id
    with db.session() as s:
        emailable = sorted(
            s.scalars(
                select(ConsentRow.customer_id).where(
                    ConsentRow.channel == "email", ConsentRow.granted.is_(True)
                )
            )
        )
    product: Product = list_products(db)[0]
    policy = TrackingPolicy()

    def tick(people: list[str], at: datetime) -> int:
        """People add to cart at `at`; the worker's scan runs six hours later. Returns how many
        outbox rows the tick wrote."""
        before = _messages(db, cid)
        ingest_events(
            db,
            [_track(f"add-{u}-{at:%H}", at, "Product Added", product.id, userId=u) for u in people],
            policy,
        )
        entries = scan_trigger(db, deps.settings, deps.kit, cid, as_of=at + timedelta(hours=6))
        assert {e.customer_id for e in entries} == set(people)
        return _messages(db, cid) - before

    first, second, third = emailable[0:8], emailable[8:16], emailable[16:24]
    assert tick(first, NOW + timedelta(hours=1)) > 0  # an activation ran (and fitted)
    fits, hits = FITS.fits, FITS.hits

    # No order since: the next tick's activation reuses the fit, no scan of every order.
    assert tick(second, NOW + timedelta(hours=8)) > 0
    assert (FITS.fits, FITS.hits) == (fits, hits + 1)
    kept = FITS.entries[next(reversed(FITS.entries))]
    buyers = kept.recommender.buyers[product.id]

    # A purchase comes in: the next activation refits, and the new fit counts the buyer.
    buyer = _never_bought(db, emailable[24:])
    ingest_events(
        db,
        [
            _track(
                "order-1",
                NOW + timedelta(hours=14),
                "Order Completed",
                product.id,
                userId=buyer,
            )
        ],
        policy,
    )
    assert tick(third, NOW + timedelta(hours=15)) > 0
    assert FITS.fits == fits + 1
    refit = FITS.entries[next(reversed(FITS.entries))]
    assert refit is not kept and refit.recommender.buyers[product.id] == buyers + 1
    db.dispose()


def test_linking_an_anonymous_buyer_to_a_person_refits(settings: Settings) -> None:
    deps = seeded(settings, customers=120, with_rules=False)
    db = deps.db
    products = list_products(db)
    a, b = products[0].id, products[1].id
    with db.session() as s:
        person = _never_bought(db, sorted(s.scalars(select(CustomerRow.id))))
    policy = TrackingPolicy()
    # The person buys `a` while signed in, and `b` anonymously (on another device).
    ingest_events(
        db,
        [
            _track("o-a", NOW - timedelta(days=2), "Order Completed", a, userId=person),
            _track("o-b", NOW - timedelta(days=1), "Order Completed", b, anonymousId="dev-1"),
        ],
        policy,
    )
    before = fitted(db, products, as_of=NOW)
    together = before.recommender._related.get(a, {}).get(b, 0.0)
    assert fitted(db, products, as_of=NOW) is before  # nothing changed: kept

    # An identify links the device to the person: no new order, but the two orders are now one
    # basket, so a and b go together more than before.
    ingest_events(
        db,
        [
            Event.model_validate(
                {
                    "type": "identify",
                    "messageId": "id-1",
                    "userId": person,
                    "anonymousId": "dev-1",
                    "timestamp": NOW.isoformat(),
                }
            )
        ],
        policy,
    )
    fits = FITS.fits
    after = fitted(db, products, as_of=NOW)
    assert after is not before and FITS.fits == fits + 1
    assert after.recommender._related[a][b] > together
    db.dispose()


def test_the_fingerprint_reads_the_orders_through_an_index(tmp_path: Path) -> None:
    """The fingerprint query runs on every recommender use: it must find the orders by the
    `events(event, timestamp)` index, not by scanning every event (the plan, not a timing)."""
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    db.migrate()
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", capture)
    orders_fingerprint(db, as_of=NOW)
    sqlalchemy_event.remove(db.engine, "before_cursor_execute", capture)
    sql, params = next(s for s in statements if "FROM events" in s[0])
    with db.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
    assert any("USING INDEX ix_events_event_ts" in step for step in plan), plan


def test_a_chunks_features_and_purchases_read_its_events_by_person(tmp_path: Path) -> None:
    """Activation loads its people a chunk at a time: their features and purchases must find
    the chunk's events by the `events(user_id, timestamp)` index. With `events(event,
    timestamp)` every chunk read all the shop's orders, carts and views (0.34 s instead of
    0.06 s per query per 2,000 people on a 20k-customer shop). The plan, not a timing."""
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    db.migrate()
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    ids = [f"c{i:04d}" for i in range(50)]
    with db.session() as s:  # features are computed for known people only
        s.execute(insert(CustomerRow), [{"id": i, "traits": {}, "created_at": NOW} for i in ids])
    sqlalchemy_event.listen(db.engine, "before_cursor_execute", capture)
    purchase_history(db, as_of=NOW, customer_ids=ids)
    with db.session() as s:
        compute_features(s, as_of=NOW, customer_ids=ids)
    sqlalchemy_event.remove(db.engine, "before_cursor_execute", capture)
    on_events = [s for s in statements if "FROM events" in s[0]]
    assert len(on_events) == 5  # purchases, totals, categories, latest products, bought
    with db.engine.connect() as conn:
        for sql, params in on_events:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert any("USING INDEX ix_events_user_ts" in step for step in plan), (sql, plan)
            # (looking up one event at an exact time, as the latest product's join does, is fine)
            scans = [s for s in plan if "ix_events_event_ts" in s and "timestamp=?" not in s]
            assert not scans, (sql, plan)
    db.dispose()
