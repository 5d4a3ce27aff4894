"""Catalog repository: list and fetch products, and best-sellers by order count."""

from __future__ import annotations

from collections.abc import Collection

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
