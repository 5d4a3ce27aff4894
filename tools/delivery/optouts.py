"""Opt-outs at send time: suppressed addresses and withdrawn consent, read for a batch when it
is checked, and again while it is being sent, so an unsubscribe or complaint that arrives in
the middle of a (rate-limited, long) batch stops the person's remaining messages."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from core.customers import normalize_address
from core.db import ConsentRow, Database, SuppressionRow, one_of
from core.models import SkipReason

_SUPPRESSION_SKIP = {
    "hard_bounce": SkipReason.SUPPRESSED_BOUNCE.value,
    "complaint": SkipReason.SUPPRESSED_COMPLAINT.value,
}
_UNSUBSCRIBE_SOURCES = ("unsubscribe", "complaint")
"""Consent sources that make a skip read `unsubscribed` rather than `no_consent`."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a message goes to, as the opt-out checks see it."""

    customer_id: str
    """The person."""
    channel: str
    """The channel value (`email`, `sms`, …)."""
    address: str
    """The address as written on the message."""


def suppression_skip(reason: str) -> str:
    """The skip reason for a message to an address suppressed for `reason`."""
    return _SUPPRESSION_SKIP.get(reason, f"suppressed_{reason}")


def withdrawn_skip(source: str) -> str:
    """The skip reason for a message to someone whose consent is not granted, by its source."""
    unsub = source.startswith(_UNSUBSCRIBE_SOURCES)
    return (SkipReason.UNSUBSCRIBED if unsub else SkipReason.NO_CONSENT).value


def _key(r: Recipient) -> tuple[str, str] | None:
    try:
        return r.channel, normalize_address(r.channel, r.address)
    except ValueError:
        return None  # unknown channel: the dispatcher fails the message


def suppressed_addresses(
    conn: Connection, recipients: Iterable[Recipient]
) -> dict[tuple[str, str], str]:
    """Suppression reason per (channel, normalised address), for the suppressed ones."""
    by_channel: dict[str, set[str]] = {}
    for r in recipients:
        key = _key(r)
        if key is not None:
            by_channel.setdefault(key[0], set()).add(key[1])
    out: dict[tuple[str, str], str] = {}
    for ch, addrs in by_channel.items():
        rows = conn.execute(
            select(SuppressionRow.address, SuppressionRow.reason).where(
                SuppressionRow.channel == ch, one_of(conn, SuppressionRow.address, sorted(addrs))
            )
        )
        out.update({(ch, row.address): row.reason for row in rows})
    return out


class OptOutWatch:
    """Re-reads suppressions and withdrawn consent for a batch being sent, at most every
    `interval_s` seconds (0: before every message), and says which messages must now be
    skipped. Two indexed queries per refresh, whatever the batch size."""

    def __init__(self, db: Database, recipients: Iterable[Recipient], interval_s: float) -> None:
        self._db = db
        self._recipients = list(recipients)
        self._interval = max(interval_s, 0.0)
        self._read_at = time.monotonic()
        self._suppressed: dict[tuple[str, str], str] = {}
        self._withdrawn: dict[tuple[str, str], str] = {}

    def skip_reason(self, r: Recipient) -> str | None:
        """Why a message to `r` must not go out now, or None; refreshes when due."""
        if time.monotonic() - self._read_at >= self._interval:
            self._refresh()
        key = _key(r)
        reason = None if key is None else self._suppressed.get(key)
        if reason is not None:
            return suppression_skip(reason)
        source = self._withdrawn.get((r.customer_id, r.channel))
        return None if source is None else withdrawn_skip(source)

    def _refresh(self) -> None:
        cids = sorted({r.customer_id for r in self._recipients})
        with self._db.engine.connect() as conn:
            self._suppressed = suppressed_addresses(conn, self._recipients)
            rows = conn.execute(
                select(ConsentRow.customer_id, ConsentRow.channel, ConsentRow.source).where(
                    one_of(conn, ConsentRow.customer_id, cids), ConsentRow.granted.is_(False)
                )
            )
            self._withdrawn = {(r.customer_id, r.channel): r.source for r in rows}
        self._read_at = time.monotonic()
