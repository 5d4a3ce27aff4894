"""Catalog repository: list and fetch products, and best-sellers by order count."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select, type_coerce

from core.db import Database, EventRow, IdentityRow, ProductRow, UTCDateTime, one_of, unindexed
from core.models import Product

_ORDER = "Order Completed"
_CHUNK = 5000


def _to_model(row: ProductRow) -> Product:
    return Product(
        id=row.id,
        name=row.name,
        category=row.category,
        price=row.price,
        url=row.url,
        margin=row.margin,
        launched=row.launched,
    )


def list_products(db: Database) -> list[Product]:
    """Every product, by id."""
    with db.session() as s:
        return [_to_model(r) for r in s.scalars(select(ProductRow).order_by(ProductRow.id))]


def get_products(db: Database, ids: Collection[str]) -> dict[str, Product]:
    """The products with these ids; unknown ids are left out."""
    wanted = sorted(set(ids))
    out: dict[str, Product] = {}
    with db.session() as s:
        for i in range(0, len(wanted), _CHUNK):
            rows = s.scalars(select(ProductRow).where(ProductRow.id.in_(wanted[i : i + _CHUNK])))
            out.update((r.id, _to_model(r)) for r in rows)
    return out


def bestsellers(
    db: Database, *, category: str | None = None, limit: int | None = 5
) -> list[Product]:
    """Products by number of Order Completed events, most first (ties by id); all of them when
    `limit` is None.

    Products never ordered come last, so the list is full whenever the catalog is big enough.
    """
    pid = EventRow.properties["product_id"].as_string()
    orders = (
        select(pid.label("product_id"), func.count().label("n"))
        .where(EventRow.event == _ORDER, pid.is_not(None))
        .group_by(pid)
        .subquery()
    )
    n = func.coalesce(orders.c.n, 0)
    query = select(ProductRow).outerjoin(orders, orders.c.product_id == ProductRow.id)
    if category is not None:
        query = query.where(ProductRow.category == category)
    query = query.order_by(n.desc(), ProductRow.id)
    if limit is not None:
        query = query.limit(limit)
    with db.session() as s:
        return [_to_model(r) for r in s.scalars(query)]


def _orders(as_of: datetime | None, *, of_some: bool = False) -> Select[Any]:
    """(person, product id) of every Order Completed event naming a product and a person, at or
    before `as_of` when given; `of_some`: the caller narrows it to some people, whose events are
    then found by person (`unindexed`)."""
    pid = EventRow.properties["product_id"].as_string()
    event = unindexed(EventRow.event) if of_some else EventRow.event
    base = select(EventRow.user_id, pid).where(
        event == _ORDER, pid.is_not(None), EventRow.user_id.is_not(None)
    )
    return base if as_of is None else base.where(EventRow.timestamp <= as_of)


def purchase_history(
    db: Database, *, as_of: datetime | None = None, customer_ids: Collection[str] | None = None
) -> dict[str, list[str]]:
    """Person id → product ids of their Order Completed events, oldest first (one query, or one
    per chunk of `customer_ids`); only events at or before `as_of` when given."""
    base = _orders(as_of, of_some=customer_ids is not None).order_by(
        EventRow.user_id, EventRow.timestamp, EventRow.message_id
    )
    out: dict[str, list[str]] = {}
    with db.session() as s:
        conn = s.connection()
        queries = (
            [base]
            if customer_ids is None
            else [
                base.where(one_of(conn, EventRow.user_id, chunk))
                for chunk in (
                    sorted(customer_ids)[i : i + _CHUNK]
                    for i in range(0, len(customer_ids), _CHUNK)
                )
            ]
        )
        for q in queries:
            for uid, product_id in s.execute(q):
                out.setdefault(uid, []).append(product_id)
    return out


def baskets(db: Database, *, as_of: datetime | None = None) -> Iterator[list[str]]:
    """Every person's ordered product ids (any order, repeats kept), one list per person,
    streamed: only one person's list is held at a time."""
    query = _orders(as_of).order_by(EventRow.user_id).execution_options(yield_per=_CHUNK)
    with db.session() as s:
        current: str | None = None
        items: list[str] = []
        for uid, product_id in s.execute(query):
            if uid != current:
                if items:
                    yield items
                current, items = uid, []
            items.append(product_id)
        if items:
            yield items


def best_by_category(db: Database) -> dict[str | None, Product]:
    """The best-seller of each category (and, under None, overall), ranked as `bestsellers`
    ranks them (by number of Order Completed events, ties by id in the database's order), in
    one query instead of one per category."""
    out: dict[str | None, Product] = {}
    for product in bestsellers(db, limit=None):
        out.setdefault(product.category, product)
        out.setdefault(None, product)
    return out


def orders_fingerprint(db: Database, *, as_of: datetime) -> tuple[object, ...]:
    """What changes whenever `baskets(db, as_of=as_of)` or `best_by_category(db)` may: the number of
    orders in each and the latest one's time (a new or late-arriving order), and the number of
    identity links (linking an anonymous id moves its orders into a person's basket). Events are
    never deleted, and an event changes only in its person, by such a link. One query over the
    orders (and a count of the links)."""
    pid = EventRow.properties["product_id"].as_string()
    ts = EventRow.timestamp
    until = EventRow.timestamp <= as_of
    named = EventRow.user_id.is_not(None)
    query = select(
        func.count(),
        type_coerce(func.max(ts), UTCDateTime()),
        func.sum(case((and_(until, named), 1), else_=0)),
        type_coerce(func.max(case((and_(until, named), ts))), UTCDateTime()),
    ).where(EventRow.event == _ORDER, pid.is_not(None))
    with db.session() as s:
        every, latest, in_baskets, latest_in_baskets = s.execute(query).one()
        links = s.scalar(select(func.count()).select_from(IdentityRow))
    return (int(every), latest, int(in_baskets or 0), latest_in_baskets, int(links or 0))
