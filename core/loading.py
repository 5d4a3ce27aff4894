"""Bulk writers shared by the importer and the sample world: products, customers with their
consent, and events, each new row inserted once (ids already stored are left alone).

They run on a `Connection` inside the caller's transaction, because a load is all or nothing
across tables; this is the one exception to the repositories' `Database`-first convention.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from core.db import (
    Base,
    ConsentRow,
    CustomerRow,
    EventRow,
    ProductRow,
    insert_ignoring_duplicates,
)
from core.models import Consent, Customer, Event, Product

_CHUNK = 5000


def existing_ids(conn: Connection, column: Any, ids: Sequence[str]) -> set[str]:
    """Ids among `ids` already in `column`'s table (no lookup at all when the table is empty)."""
    if not conn.execute(select(func.count()).select_from(column.table)).scalar_one():
        return set()
    found: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        found.update(conn.execute(select(column).where(column.in_(ids[i : i + _CHUNK]))).scalars())
    return found


def bulk_insert(
    conn: Connection,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    skip_duplicates: bool = False,
) -> None:
    """Insert many rows (all with the same keys) through the driver's executemany, with the
    columns' own bind processing; `skip_duplicates` leaves rows whose key is stored alone.

    Same stored values as `conn.execute(insert(model), rows)` (the column types convert them),
    without SQLAlchemy's per-row parameter bookkeeping, which dominates at a million rows.
    """
    if not rows:
        return
    dialect = conn.dialect
    keys = list(rows[0])
    table = model.__table__
    stmt = insert_ignoring_duplicates(conn, model) if skip_duplicates else insert(model)
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    procs = [(k, table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in order]
    defaults = [(k, _python_default(table.c[k])) for k in order if k not in rows[0]]
    for i in range(0, len(rows), _CHUNK):
        chunk = rows[i : i + _CHUNK]
        if defaults:  # columns the rows leave out, with a Python-side default, as insert() does
            chunk = [{**r, **{k: d() for k, d in defaults}} for r in chunk]
        if compiled.positional:
            params: list[Any] = [tuple(f(r[k]) if f else r[k] for k, f in procs) for r in chunk]
        else:
            params = [{k: f(r[k]) if f else r[k] for k, f in procs} for r in chunk]
        conn.exec_driver_sql(compiled.string, params)


def insert_new_returning(
    conn: Connection, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """Insert the rows (all with the same keys, unique by `key`) whose `key` is not stored yet;
    returns the `key`s of the rows inserted, exactly, even with concurrent writers.

    One multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING key` per chunk (SQLite and
    PostgreSQL): no look-up first, the column types' own bind processing, no per-row
    bookkeeping of SQLAlchemy's.
    """
    if not rows:
        return set()
    dialect = conn.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"{dialect.name} is not supported; use SQLite or PostgreSQL")
    table = model.__table__
    quote = dialect.identifier_preparer
    keys = list(rows[0])
    procs = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys]
    pairs = list(zip(keys, procs, strict=True))
    columns = ", ".join(quote.quote(table.c[k].name) for k in keys)
    head = f"INSERT INTO {quote.format_table(table)} ({columns}) VALUES "
    tail = f" ON CONFLICT DO NOTHING RETURNING {quote.quote(table.c[key].name)}"
    mark = "?" if dialect.name == "sqlite" else "%s"
    group = "(" + ", ".join([mark] * len(keys)) + ")"
    per = max(1, min(500, 32_000 // len(keys)))  # SQLite allows 32,766 parameters
    new: set[Any] = set()
    for i in range(0, len(rows), per):
        part = rows[i : i + per]
        params = tuple(f(r[k]) if f else r[k] for r in part for k, f in pairs)
        sql = head + ", ".join([group] * len(part)) + tail
        new.update(v for (v,) in conn.exec_driver_sql(sql, params))
    return new


def _python_default(column: Any) -> Callable[[], Any]:
    """A column's Python-side insert default as a function of nothing."""
    default = column.default
    if default is not None and default.is_scalar:
        return lambda: default.arg
    if default is not None and default.is_callable:
        return lambda: default.arg(None)
    raise ValueError(f"no value for column {column.name} and no Python-side default")


def insert_new_products(conn: Connection, products: Sequence[Product]) -> list[Product]:
    """Insert the products whose id is not stored yet; returns them."""
    have = existing_ids(conn, ProductRow.id, [p.id for p in products])
    fresh = [p for p in products if p.id not in have]
    bulk_insert(conn, ProductRow, [p.model_dump() for p in fresh])
    return fresh


def consent_row(customer_id: str, consent: Consent) -> dict[str, Any]:
    """The stored form of one consent record."""
    return {
        "customer_id": customer_id,
        "channel": consent.channel.value,
        "granted": consent.granted,
        "source": consent.source,
        "at": consent.at.astimezone(UTC),
    }


def insert_new_customers(
    conn: Connection, customers: Sequence[Customer], *, now: datetime
) -> list[Customer]:
    """Insert the customers whose id is not stored yet, with their consent; returns them.

    A customer without `created_at` is stamped `now`.
    """
    have = existing_ids(conn, CustomerRow.id, [c.id for c in customers])
    fresh = [c for c in customers if c.id not in have]
    rows = []
    for c in fresh:
        values = c.model_dump(exclude={"consent"})
        values["created_at"] = (values["created_at"] or now).astimezone(UTC)
        rows.append(values)
    bulk_insert(conn, CustomerRow, rows)
    bulk_insert(conn, ConsentRow, [consent_row(c.id, k) for c in fresh for k in c.consent])
    return fresh


def insert_new_events(conn: Connection, events: Sequence[Event]) -> int:
    """Insert the events whose `messageId` is not stored yet; returns how many were new."""
    have = existing_ids(conn, EventRow.message_id, [e.message_id for e in events])
    rows = [
        {
            "message_id": e.message_id,
            "type": e.type,
            "user_id": e.user_id,
            "event": e.event,
            "properties": e.properties,
            "traits": e.traits,
            "timestamp": e.timestamp.astimezone(UTC),
        }
        for e in events
        if e.message_id not in have
    ]
    bulk_insert(conn, EventRow, rows)
    return len(rows)
