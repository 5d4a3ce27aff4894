"""Customer repository: people with their consent and suppressed addresses; change consent."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import decision_row
from core.contacts import mask_email, mask_phone, phone_key
from core.db import (
    ConsentRow,
    CustomerRow,
    Database,
    SuppressionRow,
    insert_ignoring_duplicates,
)
from core.models import CONSENT_TRAITS, PROFILE_TRAITS, Channel, Consent, Customer

_CHUNK = 5000


_COLUMNS = (
    CustomerRow.id,
    CustomerRow.email,
    CustomerRow.phone,
    CustomerRow.first_name,
    CustomerRow.last_name,
    CustomerRow.timezone,
    CustomerRow.locale,
    CustomerRow.country,
    CustomerRow.traits,
    CustomerRow.created_at,
)


def get_customers(db: Database, ids: Collection[str]) -> dict[str, Customer]:
    """The customers with these ids, with their consent; unknown ids are left out."""
    wanted = sorted(set(ids))
    out: dict[str, Customer] = {}
    with db.session() as s:
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            consents: dict[str, list[Consent]] = {}
            for cid, channel, granted, source, at in s.execute(
                select(
                    ConsentRow.customer_id,
                    ConsentRow.channel,
                    ConsentRow.granted,
                    ConsentRow.source,
                    ConsentRow.at,
                )
                .where(ConsentRow.customer_id.in_(chunk))
                .order_by(ConsentRow.customer_id, ConsentRow.channel)
            ):
                consents.setdefault(cid, []).append(
                    Consent(channel=Channel(channel), granted=granted, source=source, at=at)
                )
            for row in s.execute(select(*_COLUMNS).where(CustomerRow.id.in_(chunk))):
                cid = row[0]
                out[cid] = Customer(
                    id=cid,
                    email=row[1],
                    phone=row[2],
                    first_name=row[3],
                    last_name=row[4],
                    timezone=row[5],
                    locale=row[6],
                    country=row[7],
                    traits=dict(row[8] or {}),
                    consent=consents.get(cid, []),
                    created_at=row[9],
                )
    return out


def timezones(db: Database) -> dict[str, str | None]:
    """Every customer's timezone (None where unknown), by customer id."""
    with db.session() as s:
        return {cid: tz for cid, tz in s.execute(select(CustomerRow.id, CustomerRow.timezone))}


def customer_id_pages(db: Database, size: int) -> Iterator[list[str]]:
    """Every customer id in id order, `size` at a time (keyset paging: nothing else is held)."""
    last: str | None = None
    while True:
        q = select(CustomerRow.id).order_by(CustomerRow.id).limit(size)
        if last is not None:
            q = q.where(CustomerRow.id > last)
        with db.session() as s:
            page = list(s.scalars(q))
        if not page:
            return
        yield page
        last = page[-1]


def consented(db: Database, customer_ids: Sequence[str], channels: Collection[Channel]) -> set[str]:
    """The known people among `customer_ids` whose consent is granted on one of `channels`."""
    wanted = [c.value for c in channels]
    out: set[str] = set()
    with db.session() as s:
        for i in range(0, len(customer_ids), _CHUNK):
            out.update(
                s.scalars(
                    select(ConsentRow.customer_id)
                    .join(CustomerRow, CustomerRow.id == ConsentRow.customer_id)
                    .where(
                        ConsentRow.customer_id.in_(customer_ids[i : i + _CHUNK]),
                        ConsentRow.channel.in_(wanted),
                        ConsentRow.granted.is_(True),
                    )
                )
            )
    return out


def consent_granted(db: Database, customer_id: str, channel: Channel | str) -> bool:
    """True only if the person has a consent record for the channel that grants contact."""
    with db.session() as s:
        row = s.get(ConsentRow, (customer_id, Channel(channel).value))
        return bool(row is not None and row.granted)


def set_consent(
    db: Database,
    customer_id: str,
    channel: Channel | str,
    granted: bool,
    source: str,
    at: datetime,
) -> None:
    """Record a person's current consent for a channel (latest wins) and audit the change."""
    with db.session() as s:
        _set_consent(s, customer_id, channel, granted, source, at)


def set_consent_by_address(
    db: Database,
    channel: Channel | str,
    address: str,
    granted: bool,
    source: str,
    at: datetime,
    *,
    newer_only: bool = False,
) -> list[str]:
    """Set the consent of everyone with this address on the channel, in one transaction;
    returns the ids of those it changed. With `newer_only`, a consent recorded at or after
    `at` is left alone (events applied in the order they happened, not as they arrived)."""
    ch = Channel(channel)
    with db.session() as s:
        ids = _ids_by_address(s, ch, address)
        if newer_only:
            current = {
                r.customer_id: r.at
                for r in s.scalars(
                    select(ConsentRow).where(
                        ConsentRow.customer_id.in_(ids), ConsentRow.channel == ch.value
                    )
                )
            }
            ids = [cid for cid in ids if cid not in current or current[cid] < at]
        for cid in ids:
            _set_consent(s, cid, ch, granted, source, at)
    return ids


def withdraw_consent_for_address_of(
    db: Database, customer_id: str, channel: Channel | str, source: str, at: datetime
) -> list[str]:
    """Withdraw a person's consent for the channel and that of everyone sharing their address
    on it (an opt-out belongs to the address, not to one record); returns their ids.

    `ValueError` if there is no such customer."""
    ch = Channel(channel)
    with db.session() as s:
        row = s.get(CustomerRow, customer_id)
        if row is None:
            raise ValueError(f"no customer with id {customer_id!r}; import the customer first")
        address = {Channel.EMAIL: row.email, Channel.SMS: row.phone}.get(ch)
        ids = sorted({customer_id, *(_ids_by_address(s, ch, address) if address else [])})
        for cid in ids:
            _set_consent(s, cid, ch, False, source, at)
    return ids


def _set_consent(
    session: Session,
    customer_id: str,
    channel: Channel | str,
    granted: bool,
    source: str,
    at: datetime,
) -> None:
    if at.tzinfo is None:
        raise ValueError("consent time must be timezone-aware (UTC)")
    ch = Channel(channel)
    if session.get(CustomerRow, customer_id) is None:
        raise ValueError(f"no customer with id {customer_id!r}; import the customer first")
    row = session.get(ConsentRow, (customer_id, ch.value))
    before = None if row is None else row.granted
    if row is None:
        session.add(
            ConsentRow(
                customer_id=customer_id, channel=ch.value, granted=granted, source=source, at=at
            )
        )
    else:
        row.granted, row.source, row.at = granted, source, at
    session.add(
        decision_row(
            campaign_id=None,
            agent="consent",
            action="consent_granted" if granted else "consent_withdrawn",
            reason=f"{ch.value} consent {'granted' if granted else 'withdrawn'} via {source}",
            evidence={
                "customer_id": customer_id,
                "channel": ch.value,
                "granted": granted,
                "previous": before,
                "source": source,
                "at": at.isoformat(),
            },
        )
    )


def apply_identify_traits(
    session: Session, identified: Sequence[tuple[str, dict[str, Any], datetime]], *, source: str
) -> int:
    """Update people from `identify` traits (already checked by `Event`), in the caller's
    transaction, in time order; returns how many people it created.

    `PROFILE_TRAITS` set the customer's fields, other traits are merged into `traits`, a person
    not known yet is created. `CONSENT_TRAITS` set consent like an import does: an identify older
    than the consent on file changes nothing, every change is audited. A changed e-mail address
    or phone number is audited too (masked), since consent and suppression follow addresses.
    """
    if not identified:
        return 0
    first_seen: dict[str, datetime] = {}
    for uid, _traits, at in identified:
        first_seen[uid] = min(first_seen.get(uid, at), at)
    ids = sorted(first_seen)
    have = set(session.scalars(select(CustomerRow.id).where(CustomerRow.id.in_(ids))))
    new = [uid for uid in ids if uid not in have]
    if new:  # skipping ids another process creates meanwhile (several server workers)
        conn = session.connection()
        conn.execute(
            insert_ignoring_duplicates(conn, CustomerRow),
            [
                {"id": uid, "traits": {}, "created_at": first_seen[uid].astimezone(UTC)}
                for uid in new
            ],
        )
    rows = {r.id: r for r in session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))}
    consents = {
        (r.customer_id, r.channel): (r.granted, r.at)
        for r in session.scalars(select(ConsentRow).where(ConsentRow.customer_id.in_(ids)))
    }
    for uid, traits, at in sorted(identified, key=lambda item: item[2]):
        row = rows[uid]
        extra = {
            k: v for k, v in traits.items() if k not in PROFILE_TRAITS and k not in CONSENT_TRAITS
        }
        if extra:
            row.traits = {**(row.traits or {}), **extra}
        for key, field in PROFILE_TRAITS.items():
            value = traits.get(key)
            if value is None or getattr(row, field) == value:
                continue
            before = getattr(row, field)
            setattr(row, field, value)
            if field in ("email", "phone") and before is not None:
                mask = mask_email if field == "email" else mask_phone
                session.add(
                    decision_row(
                        campaign_id=None,
                        agent="ingestion",
                        action="contact_changed",
                        reason=f"{field} of {uid} changed by an identify call from {source}",
                        evidence={
                            "customer_id": uid,
                            "field": field,
                            "from": mask(before),
                            "to": mask(value),
                        },
                    )
                )
        for key, channel in CONSENT_TRAITS.items():
            granted = traits.get(key)
            if not isinstance(granted, bool):
                continue
            current = consents.get((uid, channel.value))
            if current is not None and (current[1] >= at or current[0] == granted):
                continue  # an older identify never overwrites a newer decision
            _set_consent(session, uid, channel, granted, source, at)
            session.flush()
            consents[uid, channel.value] = (granted, at)
    return len(new)


SUPPRESSION_REASONS = ("hard_bounce", "complaint")
"""Why an address is suppressed; the dispatcher skips with `suppressed_bounce` /
`suppressed_complaint`."""


def normalize_address(channel: Channel | str, address: str) -> str:
    """The form addresses are compared in: trimmed, lower-case for e-mail, E.164 for phone
    numbers (see `core.contacts.phone_key`)."""
    address = address.strip()
    if Channel(channel) == Channel.EMAIL:
        return address.lower()
    if Channel(channel) == Channel.SMS:
        return phone_key(address)
    return address


def suppress(
    db: Database,
    channel: Channel | str,
    address: str,
    reason: str,
    source: str,
    at: datetime,
    detail: str | None = None,
) -> None:
    """Suppress an address on a channel (latest reason wins) and audit it."""
    with db.session() as s:
        _suppress(s, channel, address, reason, source, at, detail)


def _suppress(
    session: Session,
    channel: Channel | str,
    address: str,
    reason: str,
    source: str,
    at: datetime,
    detail: str | None,
) -> None:
    if reason not in SUPPRESSION_REASONS:
        raise ValueError(f"suppression reason must be one of {SUPPRESSION_REASONS}, not {reason!r}")
    if at.tzinfo is None:
        raise ValueError("suppression time must be timezone-aware (UTC)")
    ch = Channel(channel)
    addr = normalize_address(ch, address)
    if not addr:
        raise ValueError("cannot suppress an empty address")
    row = session.get(SuppressionRow, (ch.value, addr))
    if row is None:
        session.add(
            SuppressionRow(
                channel=ch.value, address=addr, reason=reason, source=source, detail=detail, at=at
            )
        )
    else:
        row.reason, row.source, row.detail, row.at = reason, source, detail, at
    session.add(
        decision_row(
            campaign_id=None,
            agent="consent",
            action="address_suppressed",
            reason=f"{ch.value} address suppressed after a {reason.replace('_', ' ')} via {source}",
            evidence={"channel": ch.value, "address": addr, "reason": reason, "detail": detail},
        )
    )


def customer_ids_by_address(db: Database, channel: Channel | str, address: str) -> list[str]:
    """Ids of the people with this e-mail address (case-insensitive) or phone number."""
    with db.session() as s:
        return _ids_by_address(s, channel, address)


def _ids_by_address(session: Session, channel: Channel | str, address: str) -> list[str]:
    ch = Channel(channel)
    addr = normalize_address(ch, address)
    if ch == Channel.EMAIL:
        cond = func.lower(CustomerRow.email) == addr
    elif ch == Channel.SMS:
        cond = CustomerRow.phone == addr
    else:
        return []
    return list(session.scalars(select(CustomerRow.id).where(cond).order_by(CustomerRow.id)))
