"""Import customers, events or products from CSV or JSONL files, all or nothing.

Every row is validated with the domain models (`Customer`, `Event`, `Product`). If any row is
bad, nothing is written and `ImportRejected` lists the bad rows by their 1-based line number in
the file. Otherwise everything is written in one transaction: customers and products are
upserted (only the fields a row gives are changed), events are de-duplicated by `messageId`,
within the file and against the database.

JSONL (`.jsonl`, `.ndjson`): one JSON object per line, shaped like the model (`Customer` with a
`consent` list; `Event` with Segment names `messageId`, `userId`; `Product`). Blank lines are
skipped.

CSV (`.csv`, UTF-8, header on line 1; an empty cell means "not given"):
- customers: `id`, `email`, `phone`, `first_name`, `last_name`, `timezone`, `locale`, `country`,
  `created_at`; `traits` (a JSON object) and/or one column per trait named `trait.<name>`;
  consent per channel as `<channel>_consent` (true/false, yes/no, 1/0, granted/denied),
  `<channel>_consent_source` (default `import`) and `<channel>_consent_at` (default the row's
  `created_at`, else the import time), for channel in email, sms, push, webhook.
- events: `type`, `messageId` (or `message_id`), `userId` (or `user_id`), `anonymousId` (or
  `anonymous_id`), `event`, `name`, `timestamp`, `properties` and `traits` (JSON objects); a
  blank cell is an absent value.
- products: `id`, `name`, `category`, `price`, `url`, `margin`, `launched` (a date, `2026-10-01`;
  optional: launch copy calls a product new only within 90 days of it).

Times must carry a timezone (`Z` or `+02:00`); they are stored in UTC. An imported consent
never overwrites a newer one already on file, and every consent change is audited.

Customer contact points are validated and normalised: e-mail addresses with `email-validator`
(syntax, no line breaks), phones with `phonenumbers` to E.164 (read in the row's `country`,
else `phone_region`), timezones against the IANA database (`zoneinfo`). No text may hold a NUL
byte (PostgreSQL cannot store one).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import decision_row
from core.contacts import DEFAULT_PHONE_REGION, normalize_email, normalize_phone
from core.db import ConsentRow, CustomerRow, Database, ProductRow, utcnow
from core.events import write_events
from core.loading import (
    bulk_insert,
    consent_row,
    insert_new_customers,
    insert_new_products,
)
from core.models import Channel, Customer, Event, Product, TrackingPolicy

ImportKind = Literal["customers", "events", "products"]
_KINDS: tuple[str, ...] = get_args(ImportKind)
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_CHUNK = 5000
_MAX_LISTED = 20
_TRUE = {"true", "yes", "y", "1", "granted", "opt_in", "opted_in"}
_FALSE = {"false", "no", "n", "0", "denied", "opt_out", "opted_out"}

_CUSTOMER_COLUMNS = {
    "id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "timezone",
    "locale",
    "country",
    "created_at",
    "traits",
}
_CONSENT_COLUMNS = {
    f"{ch.value}_consent{suffix}" for ch in Channel for suffix in ("", "_source", "_at")
}
_EVENT_COLUMNS = {
    "type": "type",
    "messageId": "messageId",
    "message_id": "messageId",
    "userId": "userId",
    "user_id": "userId",
    "anonymousId": "anonymousId",
    "anonymous_id": "anonymousId",
    "event": "event",
    "name": "name",
    "timestamp": "timestamp",
    "properties": "properties",
    "traits": "traits",
}
_PRODUCT_COLUMNS = {"id", "name", "category", "price", "url", "margin", "launched"}


class RowError(BaseModel):
    """One bad row of an import file."""

    line: int
    """1-based line number in the file (the header of a CSV is line 1)."""
    message: str
    """What is wrong, in words a person can act on."""


class ImportReport(BaseModel):
    """What an import did."""

    kind: ImportKind
    """customers, events or products."""
    rows: int
    """Data rows read from the file."""
    inserted: int
    """New rows written."""
    duplicates: int
    """Rows skipped as duplicates (events whose messageId was already in the file or database)."""
    updated: int = 0
    """Existing customers or products updated."""


class ImportRejected(Exception):
    """The file had bad rows; nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "\n".join(f"  line {e.line}: {e.message}" for e in errors[:_MAX_LISTED])
        more = f"\n  … and {len(errors) - _MAX_LISTED} more" if len(errors) > _MAX_LISTED else ""
        super().__init__(
            f"import rejected, nothing was written: {len(errors)} bad row(s)\n{shown}{more}"
        )


class _RowProblem(Exception):
    """A row that cannot be turned into model input."""


# --- reading ----------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open(encoding="utf-8-sig") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield line_no, RowError(line=line_no, message=f"not valid JSON: {exc.msg}")
                continue
            if not isinstance(obj, dict):
                yield line_no, RowError(line=line_no, message="each line must be a JSON object")
                continue
            yield line_no, obj


def _read_csv(path: Path, allowed: Any) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            yield 1, RowError(line=1, message="the file is empty; expected a header row")
            return
        unknown = [h for h in header if not allowed(h)]
        if unknown:
            yield 1, RowError(line=1, message=f"unknown column(s) {', '.join(map(repr, unknown))}")
            return
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(header):
                yield (
                    start,
                    RowError(
                        line=start, message=f"{len(cells)} cells but the header has {len(header)}"
                    ),
                )
                continue
            yield start, {h: c for h, c in zip(header, cells, strict=False) if c.strip() != ""}


def _json_object(raw: str, column: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _RowProblem(f"column {column!r} is not valid JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise _RowProblem(f"column {column!r} must be a JSON object")
    return value


def _customer_input(cells: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in cells.items() if k in _CUSTOMER_COLUMNS}
    traits = _json_object(data.pop("traits"), "traits") if "traits" in data else {}
    for key, value in cells.items():
        if key.startswith(("trait.", "traits.")):
            traits[key.split(".", 1)[1]] = value
    if traits:
        data["traits"] = traits
    consent = []
    for ch in Channel:
        flag = cells.get(f"{ch.value}_consent")
        if flag is None:
            continue
        low = flag.strip().lower()
        if low not in _TRUE | _FALSE:
            raise _RowProblem(
                f"{ch.value}_consent is {flag!r}; use true/false, yes/no, 1/0 or granted/denied"
            )
        consent.append(
            {
                "channel": ch.value,
                "granted": low in _TRUE,
                "source": cells.get(f"{ch.value}_consent_source", "import"),
                "at": cells.get(f"{ch.value}_consent_at") or cells.get("created_at") or utcnow(),
            }
        )
    if consent:
        data["consent"] = consent
    return data


def _event_input(cells: dict[str, str]) -> dict[str, Any]:
    # a blank cell is an absent value (a row may have a userId, an anonymousId or both)
    data: dict[str, Any] = {_EVENT_COLUMNS[k]: v for k, v in cells.items() if v != ""}
    for column in ("properties", "traits"):
        if column in data:
            data[column] = _json_object(data[column], column)
    return data


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "row"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _naive_times(model: BaseModel) -> list[str]:
    """Names of datetime fields without a timezone."""
    out = []
    if isinstance(model, Customer):
        if model.created_at is not None and model.created_at.tzinfo is None:
            out.append("created_at")
        out += [f"{c.channel.value} consent time" for c in model.consent if c.at.tzinfo is None]
    return out


def _nul_fields(value: Any, where: str = "") -> list[str]:
    """Where a NUL byte hides in a row (keys and values, nested)."""
    if isinstance(value, str):
        return [where or "row"] if "\x00" in value else []
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            name = f"{where}.{k}" if where else str(k)
            out += [name] if "\x00" in str(k) else _nul_fields(v, name)
        return out
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in _nul_fields(v, f"{where}[{i}]")]
    return []


def _checked_contacts(customer: Customer, phone_region: str) -> Customer:
    """The customer with e-mail and phone normalised; `_RowProblem` naming every bad field."""
    problems: list[str] = []
    update: dict[str, str] = {}
    if customer.email is not None:
        try:
            update["email"] = normalize_email(customer.email)
        except ValueError as exc:
            problems.append(str(exc))
    if customer.phone is not None:
        try:
            update["phone"] = normalize_phone(customer.phone, customer.country or phone_region)
        except ValueError as exc:
            problems.append(f"{exc}; write it in E.164 like +14155550100")
    if customer.timezone is not None:
        try:
            ZoneInfo(customer.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"timezone {customer.timezone!r} is not an IANA zone; use one like "
                "Europe/Berlin or America/New_York"
            )
    if problems:
        raise _RowProblem("; ".join(problems))
    return customer.model_copy(update=update)


def _parse(
    kind: str, path: Path, fmt: str, phone_region: str = DEFAULT_PHONE_REGION
) -> tuple[int, list[tuple[int, BaseModel]], list[RowError]]:
    """Read and validate every row: (data rows, [(line, model)], errors)."""
    models: dict[str, type[BaseModel]] = {
        "customers": Customer,
        "events": Event,
        "products": Product,
    }
    model_cls = models[kind]
    if fmt == "jsonl":
        rows = _read_jsonl(path)
    elif kind == "customers":
        rows = _read_csv(
            path,
            lambda h: (
                h in _CUSTOMER_COLUMNS | _CONSENT_COLUMNS or h.startswith(("trait.", "traits."))
            ),
        )
    elif kind == "events":
        rows = _read_csv(path, lambda h: h in _EVENT_COLUMNS)
    else:
        rows = _read_csv(path, lambda h: h in _PRODUCT_COLUMNS)

    count = 0
    good: list[tuple[int, BaseModel]] = []
    errors: list[RowError] = []
    for line, raw in rows:
        if isinstance(raw, RowError):
            errors.append(raw)
            if line == 1 and fmt == "csv":
                break
            count += 1
            continue
        count += 1
        nul = _nul_fields(raw)
        if nul:
            errors.append(
                RowError(
                    line=line,
                    message=f"{', '.join(nul)} contains a NUL byte (\\x00); remove it",
                )
            )
            continue
        try:
            data = raw
            if fmt == "csv":
                data = (
                    _customer_input(raw)
                    if kind == "customers"
                    else (_event_input(raw) if kind == "events" else raw)
                )
            model = model_cls.model_validate(data)
            if isinstance(model, Customer):
                model = _checked_contacts(model, phone_region)
        except _RowProblem as exc:
            errors.append(RowError(line=line, message=str(exc)))
            continue
        except ValidationError as exc:
            errors.append(RowError(line=line, message=_describe(exc)))
            continue
        naive = _naive_times(model)
        if naive:
            errors.append(
                RowError(
                    line=line,
                    message=f"{', '.join(naive)} has no timezone; write it like "
                    "2025-03-01T09:30:00Z or with an offset such as +01:00",
                )
            )
            continue
        good.append((line, model))
    return count, good, errors


def _key(model: BaseModel) -> str:
    if isinstance(model, Event):
        return model.message_id
    assert isinstance(model, Customer | Product)
    return model.id


# --- writing ----------------------------------------------------------------------------


def _loaded(session: Session, cls: Any, column: Any, ids: list[str]) -> dict[Any, Any]:
    """ORM rows whose `column` is in ids, keyed by primary key identity."""
    out: dict[Any, Any] = {}
    for i in range(0, len(ids), _CHUNK):
        for row in session.scalars(select(cls).where(column.in_(ids[i : i + _CHUNK]))):
            key = (row.customer_id, row.channel) if isinstance(row, ConsentRow) else row.id
            out[key] = row
    return out


def _write_products(session: Session, products: list[Product]) -> tuple[int, int]:
    have = _loaded(session, ProductRow, ProductRow.id, [p.id for p in products])
    for p in products:
        if p.id in have:
            for name, value in p.model_dump(include=p.model_fields_set - {"id"}).items():
                setattr(have[p.id], name, value)
    session.flush()
    new = insert_new_products(session.connection(), products)
    return len(new), len(products) - len(new)


def _write_customers(session: Session, customers: list[Customer], now: datetime) -> tuple[int, int]:
    ids = [c.id for c in customers]
    have = _loaded(session, CustomerRow, CustomerRow.id, ids)
    consents = _loaded(session, ConsentRow, ConsentRow.customer_id, ids)
    for c in customers:
        row = have.get(c.id)
        if row is None:
            continue
        given = c.model_dump(include=c.model_fields_set - {"consent", "id"})
        for name, value in given.items():
            if name == "traits":
                value = {**(row.traits or {}), **value}
            if name == "created_at" and value is None:
                continue
            setattr(row, name, value)
    session.flush()
    new = insert_new_customers(session.connection(), customers, now=now)
    fresh: list[dict[str, Any]] = []
    for c in customers:
        if c.id not in have:
            continue  # a new customer's consent came in with it
        for k in c.consent:
            at = k.at.astimezone(UTC)
            current = consents.get((c.id, k.channel.value))
            if current is None:
                fresh.append(consent_row(c.id, k))
                continue
            if at < current.at or (current.granted, current.source, current.at) == (
                k.granted,
                k.source,
                at,
            ):
                continue  # an older record never overwrites a newer decision
            session.add(
                decision_row(
                    campaign_id=None,
                    agent="consent",
                    action="consent_granted" if k.granted else "consent_withdrawn",
                    reason=f"{k.channel.value} consent set by import (source {k.source})",
                    evidence={
                        "customer_id": c.id,
                        "channel": k.channel.value,
                        "granted": k.granted,
                        "source": k.source,
                        "at": at.isoformat(),
                        "previous": {
                            "granted": current.granted,
                            "source": current.source,
                            "at": current.at.isoformat(),
                        },
                    },
                )
            )
            current.granted, current.source, current.at = k.granted, k.source, at
    bulk_insert(session.connection(), ConsentRow, fresh)
    return len(new), len(customers) - len(new)


def import_file(
    db: Database,
    kind: ImportKind,
    path: Path,
    *,
    phone_region: str = DEFAULT_PHONE_REGION,
    tracking: TrackingPolicy | None = None,
) -> ImportReport:
    """Validate a whole file, then write it in one transaction; on any bad row write nothing.

    `phone_region` (ISO country code) reads phone numbers written without a `+` country code
    for people with no `country`. Events go through `core.events.write_events`, the same code as
    the HTTP event API (identity stitching, conversions); `tracking` is the brand's (the default
    kit's when None).
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown import kind {kind!r}; use one of: {', '.join(_KINDS)}")
    path = Path(path)
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot import {path.name!r}: unknown file type {path.suffix or '(none)'!r}; "
            f"use one of: {', '.join(_EXTENSIONS)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"import file not found: {path}")

    count, good, errors = _parse(kind, path, fmt, phone_region)
    seen: dict[str, int] = {}
    unique: list[BaseModel] = []
    duplicates = 0
    for line, model in good:
        key = _key(model)
        if key in seen:
            if kind == "events":
                duplicates += 1
                continue
            errors.append(
                RowError(line=line, message=f"id {key!r} already appears on line {seen[key]}")
            )
            continue
        seen[key] = line
        unique.append(model)
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: e.line))

    inserted, updated = 0, 0
    with db.session() as session:
        if kind == "events":
            stored = write_events(
                session, [m for m in unique if isinstance(m, Event)], tracking or TrackingPolicy()
            )
            inserted = len(stored.events)
            duplicates += stored.duplicates
        elif kind == "products":
            inserted, updated = _write_products(
                session, [m for m in unique if isinstance(m, Product)]
            )
        else:
            inserted, updated = _write_customers(
                session, [m for m in unique if isinstance(m, Customer)], utcnow()
            )
    return ImportReport(
        kind=kind, rows=count, inserted=inserted, duplicates=duplicates, updated=updated
    )
