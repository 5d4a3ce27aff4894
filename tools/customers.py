"""Customer profiles and consent: read people with their consent, check and change consent."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import record_decision
from core.db import ConsentRow, CustomerRow, SuppressionRow
from core.models import Channel, Consent, Customer

_CHUNK = 5000


def _to_model(row: CustomerRow, consents: list[ConsentRow]) -> Customer:
    return Customer(
        id=row.id,
        email=row.email,
        phone=row.phone,
        first_name=row.first_name,
        last_name=row.last_name,
        timezone=row.timezone,
        locale=row.locale,
        country=row.country,
        traits=dict(row.traits or {}),
        consent=[
            Consent(channel=Channel(c.channel), granted=c.granted, source=c.source, at=c.at)
            for c in sorted(consents, key=lambda c: c.channel)
        ],
        created_at=row.created_at,
    )


def get_customers(session: Session, ids: Collection[str]) -> dict[str, Customer]:
    """The customers with these ids, with their consent; unknown ids are left out."""
    wanted = sorted(set(ids))
    out: dict[str, Customer] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        consents: dict[str, list[ConsentRow]] = {}
        for c in session.scalars(select(ConsentRow).where(ConsentRow.customer_id.in_(chunk))):
            consents.setdefault(c.customer_id, []).append(c)
        for row in session.scalars(select(CustomerRow).where(CustomerRow.id.in_(chunk))):
            out[row.id] = _to_model(row, consents.get(row.id, []))
    return out


def consent_granted(session: Session, customer_id: str, channel: Channel | str) -> bool:
    """True only if the person has a consent record for the channel that grants contact."""
    row = session.get(ConsentRow, (customer_id, Channel(channel).value))
    return bool(row is not None and row.granted)


def set_consent(
    session: Session,
    customer_id: str,
    channel: Channel | str,
    granted: bool,
    source: str,
    at: datetime,
) -> None:
    """Record a person's current consent for a channel (latest wins) and audit the change."""
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
    record_decision(
        session,
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


SUPPRESSION_REASONS = ("hard_bounce", "complaint")
"""Why an address is suppressed; the dispatcher skips with `suppressed_bounce` /
`suppressed_complaint`."""


def normalize_address(channel: Channel | str, address: str) -> str:
    """The form addresses are compared in: trimmed, lower-case for e-mail, no spaces in numbers."""
    address = address.strip()
    if Channel(channel) == Channel.EMAIL:
        return address.lower()
    if Channel(channel) == Channel.SMS:
        return "".join(address.split()).replace("-", "")
    return address


def suppress(
    session: Session,
    channel: Channel | str,
    address: str,
    reason: str,
    source: str,
    at: datetime,
    detail: str | None = None,
) -> None:
    """Suppress an address on a channel (latest reason wins) and audit it."""
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
    record_decision(
        session,
        campaign_id=None,
        agent="consent",
        action="address_suppressed",
        reason=f"{ch.value} address suppressed after a {reason.replace('_', ' ')} via {source}",
        evidence={"channel": ch.value, "address": addr, "reason": reason, "detail": detail},
    )


def suppression_reason(session: Session, channel: Channel | str, address: str) -> str | None:
    """Why the address is suppressed on the channel, or None."""
    ch = Channel(channel)
    row = session.get(SuppressionRow, (ch.value, normalize_address(ch, address)))
    return None if row is None else row.reason


def customer_ids_by_address(session: Session, channel: Channel | str, address: str) -> list[str]:
    """Ids of the people with this e-mail address (case-insensitive) or phone number."""
    ch = Channel(channel)
    addr = normalize_address(ch, address)
    if ch == Channel.EMAIL:
        cond = func.lower(CustomerRow.email) == addr
    elif ch == Channel.SMS:
        cond = CustomerRow.phone == addr
    else:
        return []
    return list(session.scalars(select(CustomerRow.id).where(cond).order_by(CustomerRow.id)))
