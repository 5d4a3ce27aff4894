"""The product catalog: list and fetch products, and best-sellers by order count."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import EventRow, ProductRow
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


def list_products(session: Session) -> list[Product]:
    """Every product, by id."""
    return [_to_model(r) for r in session.scalars(select(ProductRow).order_by(ProductRow.id))]


def get_products(session: Session, ids: Collection[str]) -> dict[str, Product]:
    """The products with these ids; unknown ids are left out."""
    wanted = sorted(set(ids))
    out: dict[str, Product] = {}
    for i in range(0, len(wanted), _CHUNK):
        rows = session.scalars(select(ProductRow).where(ProductRow.id.in_(wanted[i : i + _CHUNK])))
        out.update((r.id, _to_model(r)) for r in rows)
    return out


def bestsellers(session: Session, *, category: str | None = None, limit: int = 5) -> list[Product]:
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
    return [_to_model(r) for r in session.scalars(query)]
