"""Catalog repository: list and fetch products, and best-sellers by order count."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select

from core.db import Database, EventRow, ProductRow
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


def bestsellers(db: Database, *, category: str | None = None, limit: int = 5) -> list[Product]:
    """Products by number of Order Completed events, most first (ties by id).

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
    query = query.order_by(n.desc(), ProductRow.id).limit(limit)
    with db.session() as s:
        return [_to_model(r) for r in s.scalars(query)]


def purchase_history(
    db: Database, *, as_of: datetime | None = None, customer_ids: Collection[str] | None = None
) -> dict[str, list[str]]:
    """Person id → product ids of their Order Completed events, oldest first (one query, or one
    per chunk of `customer_ids`); only events at or before `as_of` when given."""
    pid = EventRow.properties["product_id"].as_string()
    base = select(EventRow.user_id, pid).where(
        EventRow.event == _ORDER, pid.is_not(None), EventRow.user_id.is_not(None)
    )
    if as_of is not None:
        base = base.where(EventRow.timestamp <= as_of)
    base = base.order_by(EventRow.user_id, EventRow.timestamp, EventRow.message_id)
    queries = (
        [base]
        if customer_ids is None
        else [
            base.where(EventRow.user_id.in_(chunk))
            for chunk in (
                sorted(customer_ids)[i : i + _CHUNK] for i in range(0, len(customer_ids), _CHUNK)
            )
        ]
    )
    out: dict[str, list[str]] = {}
    with db.session() as s:
        for q in queries:
            for uid, product_id in s.execute(q):
                out.setdefault(uid, []).append(product_id)
    return out
