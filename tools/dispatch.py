"""The dispatcher: claims due outbox rows, re-checks consent, conditions, caps and quiet hours
at send time, sends through the channel adapters with retries, and records every outcome.

Guarantees: two dispatchers (threads or processes) never claim the same row at the same time;
every status change is committed per message, so after a crash a message is either recorded
sent or claimable again once its lease expires. Delivery is at-least-once in the narrow case of
a crash between a provider accepting a message and the `sent` commit; the re-send carries the
same `Message-ID` / `Idempotency-Key`, so receivers can drop the duplicate.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from core.db import ConsentRow, CustomerRow, Database, MessageRow, OutcomeRow, utcnow
from core.models import Channel, MessageStatus, OutcomeKind
from core.settings import Settings
from tools.channels.base import (
    ChannelAdapter,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from tools.scheduling import defer_quiet_hours, in_quiet_hours, resolve_tz
from tools.tokens import unsubscribe_url

_log = logging.getLogger(__name__)

_SCHEDULED = MessageStatus.SCHEDULED.value
_SENDING = MessageStatus.SENDING.value
_CONDITION_OUTCOME = {
    "not_converted": OutcomeKind.CONVERTED.value,
    "not_clicked": OutcomeKind.CLICKED.value,
}


class DispatchPolicy(BaseModel):
    """The brand's sending rules the dispatcher enforces at send time."""

    from_name: str
    """Sender display name."""
    from_email: str
    """Sender e-mail address."""
    default_timezone: str
    """IANA zone for people whose timezone is unknown."""
    quiet_start: int = Field(ge=0, le=23)
    """Local hour quiet hours start (inclusive); equal to `quiet_end` means none."""
    quiet_end: int = Field(ge=0, le=23)
    """Local hour quiet hours end (exclusive); may be smaller than `quiet_start` (wraps)."""
    max_attempts: int = Field(default=5, ge=1)
    """Send attempts per message across all runs before it is marked failed."""
    lease_seconds: int = Field(default=300, ge=1)
    """How long a claim holds; a `sending` row older than this is claimable again (crash)."""
    frequency_caps: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Per channel: (max messages, per days), counted across all campaigns."""


class DispatchStats(BaseModel):
    """What one `run_once` did."""

    claimed: int = 0
    """Rows claimed."""
    sent: int = 0
    """Rows sent."""
    failed: int = 0
    """Rows marked failed (permanent error or attempts exhausted)."""
    retried: int = 0
    """Retries after a transient error."""
    deferred: int = 0
    """Rows moved out of quiet hours and put back as scheduled."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Rows skipped, per reason (`no_consent`, `unsubscribed`, `condition_not_met`,
    `frequency_cap`)."""


class _Claimed(BaseModel):
    """The parts of a claimed outbox row the dispatcher needs (detached from any session)."""

    id: str
    idempotency_key: str
    campaign_id: str
    customer_id: str
    channel: str
    to_address: str
    subject: str | None
    body: str
    condition: str
    scheduled_at: datetime
    attempts: int
    last_error: str | None
    claimed_by: str


class _Verdict(BaseModel):
    """Result of the send-time checks: send, skip (reason), defer (until) or fail (error)."""

    action: str
    reason: str | None = None
    until: datetime | None = None


class _ClaimLostError(Exception):
    """Another dispatcher took the row over (our lease expired)."""


_CLAIM_COLUMNS = [getattr(MessageRow, name) for name in _Claimed.model_fields]

# Hot-path statements, built once (building SQLAlchemy statements per message costs more than
# running them on SQLite). Bind names carry a `b_` prefix so they never clash with columns.
_Q_CONSENT = select(ConsentRow.granted, ConsentRow.source).where(
    ConsentRow.customer_id == bindparam("b_customer"), ConsentRow.channel == bindparam("b_channel")
)
_Q_OUTCOME = (
    select(OutcomeRow.id)
    .where(
        OutcomeRow.campaign_id == bindparam("b_campaign"),
        OutcomeRow.customer_id == bindparam("b_customer"),
        OutcomeRow.kind == bindparam("b_kind"),
    )
    .limit(1)
)
_Q_TIMEZONE = select(CustomerRow.timezone).where(CustomerRow.id == bindparam("b_customer"))
_Q_RECENT_SENDS = (
    select(func.count())
    .select_from(MessageRow)
    .where(
        MessageRow.customer_id == bindparam("b_customer"),
        MessageRow.channel == bindparam("b_channel"),
        MessageRow.status == MessageStatus.SENT.value,
        MessageRow.sent_at >= bindparam("b_since"),
    )
)
_U_ATTEMPT = (
    update(MessageRow)
    .where(
        MessageRow.id == bindparam("b_id"),
        MessageRow.claimed_by == bindparam("b_token"),
        MessageRow.status == _SENDING,
    )
    .values(attempts=MessageRow.attempts + 1, claimed_at=bindparam("b_now"))
)
_U_SENT = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("b_id"))
    .values(
        status=MessageStatus.SENT.value,
        sent_at=bindparam("b_now"),
        provider_message_id=bindparam("b_provider_id"),
    )
)
_Q_DELIVERED = (
    select(OutcomeRow.id)
    .where(
        OutcomeRow.campaign_id == bindparam("b_campaign"),
        OutcomeRow.customer_id == bindparam("b_customer"),
        OutcomeRow.message_id == bindparam("b_id"),
        OutcomeRow.kind == OutcomeKind.DELIVERED.value,
    )
    .limit(1)
)
_I_DELIVERED = insert(OutcomeRow).values(
    campaign_id=bindparam("b_campaign"),
    customer_id=bindparam("b_customer"),
    message_id=bindparam("b_id"),
    kind=OutcomeKind.DELIVERED.value,
    value=0.0,
    at=bindparam("b_now"),
)


class Dispatcher:
    """Sends due outbox messages. Create one per thread or process; they coordinate through
    the database only."""

    def __init__(
        self,
        db: Database,
        adapters: Mapping[Channel, ChannelAdapter],
        policy: DispatchPolicy,
        settings: Settings,
        *,
        worker_id: str | None = None,
        batch_size: int = 500,
        retry_wait_s: float = 1.0,
    ) -> None:
        if worker_id is not None and not 0 < len(worker_id) <= 48:
            raise ValueError("worker_id must be 1-48 characters (it is stored with a batch token)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        resolve_tz(None, policy.default_timezone)  # fail now on a bad default zone
        self.db = db
        self.adapters = dict(adapters)
        self.policy = policy
        self.settings = settings
        self.worker_id = worker_id or (
            f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.batch_size = batch_size
        self.retry_wait_s = retry_wait_s

    # --- the loop -------------------------------------------------------------------------

    def run_once(self, *, as_of: datetime | None = None) -> DispatchStats:
        """Claim and process batches until nothing is due as of `as_of` (default: now).

        `as_of` is the dispatcher's "now" for due-ness, quiet hours and frequency windows;
        claim leases and `sent_at` use the wall clock.
        """
        if as_of is None:
            as_of = utcnow()
        elif as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        stats = DispatchStats()
        while batch := self._claim(as_of):
            stats.claimed += len(batch)
            for claimed in batch:
                self._process(claimed, as_of, stats)
        return stats

    def _claim(self, as_of: datetime) -> list[_Claimed]:
        """Atomically move up to `batch_size` due rows to `sending` under a fresh token.

        One statement: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) AND <still due>`.
        PostgreSQL skips rows another worker holds; SQLite serializes writers, and the repeated
        due condition makes a row claimed by someone else in the meantime drop out.
        """
        token = f"{self.worker_id}/{uuid.uuid4().hex[:12]}"
        now = utcnow()
        due = or_(
            and_(MessageRow.status == _SCHEDULED, MessageRow.scheduled_at <= as_of),
            and_(
                MessageRow.status == _SENDING,
                MessageRow.claimed_at < now - timedelta(seconds=self.policy.lease_seconds),
            ),
        )
        pick = (
            select(MessageRow.id)
            .where(due)
            .order_by(MessageRow.scheduled_at)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(MessageRow)
            .where(MessageRow.id.in_(pick), due)
            .values(status=_SENDING, claimed_by=token, claimed_at=now)
        )
        with self.db.session() as s:
            conn = s.connection()
            if conn.dialect.update_returning:
                rows = conn.execute(stmt.returning(*_CLAIM_COLUMNS)).all()
            else:
                conn.execute(stmt)
                rows = conn.execute(
                    select(*_CLAIM_COLUMNS).where(
                        MessageRow.claimed_by == token, MessageRow.status == _SENDING
                    )
                ).all()
        claimed = [_Claimed.model_validate(dict(r._mapping)) for r in rows]
        claimed.sort(key=lambda c: (c.scheduled_at, c.id))
        return claimed

    # --- one message ----------------------------------------------------------------------

    def _process(self, c: _Claimed, as_of: datetime, stats: DispatchStats) -> None:
        try:
            channel = Channel(c.channel)
        except ValueError:
            self._fail(c, f"unknown channel {c.channel!r}", stats)
            return
        adapter = self.adapters.get(channel)
        if adapter is None:
            self._fail(c, f"no adapter configured for channel {channel.value}", stats)
            return
        if c.attempts >= self.policy.max_attempts:
            self._fail(c, f"gave up after {c.attempts} attempts; last error: {c.last_error}", stats)
            return

        try:
            verdict = self._check_and_count(c, channel, as_of)
        except _ClaimLostError:
            _log.info("message %s was taken over by another dispatcher", c.id)
            return
        if verdict.action == "skip":
            reason = verdict.reason or "skipped"
            if self._release(c, status=MessageStatus.SKIPPED.value, skip_reason=reason):
                stats.skipped[reason] = stats.skipped.get(reason, 0) + 1
            return
        if verdict.action == "defer":
            if self._release(
                c, status=_SCHEDULED, scheduled_at=verdict.until, claimed_by=None, claimed_at=None
            ):
                stats.deferred += 1
            return
        if verdict.action == "fail":
            self._fail(c, verdict.reason or "failed", stats)
            return

        out = OutboundMessage(
            id=c.id,
            idempotency_key=c.idempotency_key,
            channel=channel,
            to=c.to_address,
            subject=c.subject,
            body=c.body,
            from_name=self.policy.from_name,
            from_email=self.policy.from_email,
            unsubscribe_url=unsubscribe_url(
                self.settings,
                customer_id=c.customer_id,
                channel=channel,
                campaign_id=c.campaign_id,
            ),
            campaign_id=c.campaign_id,
            customer_id=c.customer_id,
        )
        try:
            result = self._send_with_retries(c, adapter, out, stats)
        except _ClaimLostError:
            _log.info("message %s was taken over by another dispatcher", c.id)
            return
        except TransientSendError as exc:
            self._fail(c, f"gave up after {self.policy.max_attempts} attempts: {exc}", stats)
            return
        except PermanentSendError as exc:
            self._fail(c, str(exc), stats)
            return
        self._mark_sent(c, result)
        stats.sent += 1

    def _check_and_count(self, c: _Claimed, channel: Channel, as_of: datetime) -> _Verdict:
        """Send-time checks; when the verdict is `send`, the first attempt is counted in the
        same transaction (which also renews the lease and proves the claim is still ours)."""
        with self.db.engine.begin() as conn:
            verdict = self._check(conn, c, channel, as_of)
            if verdict.action == "send":
                self._count_attempt(conn, c)
            return verdict

    def _check(self, conn: Connection, c: _Claimed, channel: Channel, as_of: datetime) -> _Verdict:
        consent = conn.execute(
            _Q_CONSENT, {"b_customer": c.customer_id, "b_channel": channel.value}
        ).first()
        if consent is None:
            return _Verdict(action="skip", reason="no_consent")
        if not consent.granted:
            unsub = consent.source.startswith("unsubscribe")
            return _Verdict(action="skip", reason="unsubscribed" if unsub else "no_consent")

        if c.condition != "always":
            kind = _CONDITION_OUTCOME.get(c.condition)
            if kind is None:
                return _Verdict(action="fail", reason=f"unknown step condition {c.condition!r}")
            met = conn.execute(
                _Q_OUTCOME,
                {"b_campaign": c.campaign_id, "b_customer": c.customer_id, "b_kind": kind},
            ).first()
            if met is not None:
                return _Verdict(action="skip", reason="condition_not_met")

        p = self.policy
        tz_name = conn.execute(_Q_TIMEZONE, {"b_customer": c.customer_id}).scalar()
        tz = resolve_tz(tz_name, p.default_timezone)
        if in_quiet_hours(as_of, tz, p.quiet_start, p.quiet_end):
            until = defer_quiet_hours(as_of, tz, p.quiet_start, p.quiet_end)
            return _Verdict(action="defer", until=until)

        cap = p.frequency_caps.get(channel.value)
        if cap is not None:
            limit, days = cap
            recent = conn.execute(
                _Q_RECENT_SENDS,
                {
                    "b_customer": c.customer_id,
                    "b_channel": channel.value,
                    "b_since": as_of - timedelta(days=days),
                },
            ).scalar()
            if (recent or 0) >= limit:
                return _Verdict(action="skip", reason="frequency_cap")
        return _Verdict(action="send")

    def _send_with_retries(
        self, c: _Claimed, adapter: ChannelAdapter, out: OutboundMessage, stats: DispatchStats
    ) -> SendResult:
        first = True

        def attempt() -> SendResult:
            nonlocal first
            if not first:
                with self.db.engine.begin() as conn:
                    self._count_attempt(conn, c)
            first = False
            try:
                return adapter.send(out)
            except (TransientSendError, PermanentSendError):
                raise
            except Exception as exc:  # an adapter bug must not wedge the row in `sending`
                _log.exception("adapter for %s raised unexpectedly on %s", out.channel, c.id)
                raise PermanentSendError(f"unexpected {type(exc).__name__}: {exc}") from exc

        def before_sleep(state: RetryCallState) -> None:
            stats.retried += 1
            exc = state.outcome.exception() if state.outcome else None
            self._release(c, last_error=str(exc)[:2000])

        retrying = Retrying(
            retry=retry_if_exception_type(TransientSendError),
            stop=stop_after_attempt(self.policy.max_attempts - c.attempts),
            # exponential backoff (w, 2w, 4w, … capped at 30w) plus up to w of jitter
            wait=wait_exponential(multiplier=self.retry_wait_s, max=self.retry_wait_s * 30)
            + wait_random(0, self.retry_wait_s),
            before_sleep=before_sleep,
            reraise=True,
        )
        result: SendResult = retrying(attempt)
        return result

    # --- recording ------------------------------------------------------------------------

    def _count_attempt(self, conn: Connection, c: _Claimed) -> None:
        """attempts += 1 and renew the lease, only if the claim is still ours."""
        res = conn.execute(_U_ATTEMPT, {"b_id": c.id, "b_token": c.claimed_by, "b_now": utcnow()})
        if res.rowcount != 1:
            raise _ClaimLostError(c.id)

    def _release(self, c: _Claimed, **values: Any) -> bool:
        """Update a row we hold; False (and a log line) if another dispatcher took it over."""
        with self.db.session() as s:
            res = s.connection().execute(
                update(MessageRow)
                .where(
                    MessageRow.id == c.id,
                    MessageRow.claimed_by == c.claimed_by,
                    MessageRow.status == _SENDING,
                )
                .values(**values)
            )
        if res.rowcount != 1:
            _log.info("message %s was taken over by another dispatcher", c.id)
            return False
        return True

    def _fail(self, c: _Claimed, error: str, stats: DispatchStats) -> None:
        _log.warning("message %s failed: %s", c.id, error)
        if self._release(c, status=MessageStatus.FAILED.value, last_error=error[:2000]):
            stats.failed += 1

    def _mark_sent(self, c: _Claimed, result: SendResult) -> None:
        """Record the send and a `delivered` outcome in one transaction. The provider accepted
        the message, so this is recorded even if our lease lapsed meanwhile."""
        params = {
            "b_id": c.id,
            "b_campaign": c.campaign_id,
            "b_customer": c.customer_id,
            "b_now": utcnow(),
            "b_provider_id": result.provider_message_id[:200],
        }
        with self.db.engine.begin() as conn:
            conn.execute(_U_SENT, params)
            if conn.execute(_Q_DELIVERED, params).first() is None:
                conn.execute(_I_DELIVERED, params)
