"""The dispatcher: claims due outbox rows in batches, re-checks consent, suppression, conditions,
quiet hours and frequency caps at send time, sends through the channel adapters, and records
every outcome.

How a batch goes:

1. **Claim** (one statement): up to `batch_size` due rows of campaigns that are not paused or
   stopped move to `sending` under a fresh token. Two dispatchers never hold the same row; a
   row whose claim is older than the lease (a crashed worker) is claimable again.
2. **Check** (one transaction for the batch): on SQLite the transaction first renews the
   lease of the batch, which takes the database's write lock; on PostgreSQL it locks the
   batch's customer rows (`SELECT … FOR UPDATE`, in id order). Checks and cap counting are
   therefore one serialized step across dispatchers, so caps hold when several campaigns
   dispatch at once. A campaign paused since the claim gets its rows back untouched, a stopped
   one's are skipped (`campaign_stopped`); a journey step that would follow the person's
   previous step sooner than the plan's gap (after an outage) is deferred. Rows that will be
   sent get `attempts + 1` and a cap reservation (`sent_at` set while still `sending`); the
   others are skipped, deferred or failed.
3. **Send**: up to `dispatch_concurrency` messages in flight at once (provider calls on a
   thread pool; the SMTP adapter keeps one reused connection per concurrent send), started
   in order and paced by the per-channel rate limit. Suppressions and
   withdrawn consent are read again while the batch goes out (`dispatch_recheck_interval_s`,
   `tools.delivery.optouts`), so an opt-out arriving mid-batch skips the rest. Each provider
   call is journalled before and after (`tools.delivery.journal`). A transient error
   puts the message back to `scheduled` with an exponential backoff (tenacity's wait
   strategies, with jitter) instead of sleeping; a permanent error fails it; after
   `dispatch_max_attempts` it fails. After 3 transient errors in a row a channel counts as
   down for the rest of the batch and its messages go back untried.
4. **Record**: results are committed in groups (`dispatch_commit_every` sends or
   `dispatch_commit_interval_s`, or a third of the lease since it was last renewed), each group
   in one transaction that also renews the lease when a third of it has passed since then;
   the sends in flight finish first, since the commit empties the send journal.

Guarantees and their limits: no message is lost (every row ends `sent`, `failed` or
`skipped`, or is claimable again); nothing is sent without consent as of the last re-check.
Delivery to the provider is at-least-once, with a window of the messages in flight per
crashed worker (at most `dispatch_concurrency`; one with a concurrency of 1): what a provider
accepted before the crash but after the last commit is in the dead worker's send journal and
is recorded as sent by the next run on the same host, not re-sent; only the messages in
flight at the crash are sent again after the lease expires, with the same
`Message-ID` / `Idempotency-Key`, so a provider or receiver that honours the key sees it
exactly once. A dispatcher whose lease lapses while a
single send hangs can race a second one the same way; keep the lease well above the adapters'
timeouts.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import (
    DateTime,
    Float,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from tenacity import RetryCallState, Retrying, wait_exponential, wait_random

from core.audit import decision_row
from core.contacts import mask_text
from core.customers import normalize_address
from core.db import (
    CampaignRow,
    ConsentRow,
    CustomerRow,
    Database,
    MessageRow,
    OutcomeRow,
    PlanRow,
    one_of,
    utcnow,
)
from core.models import CampaignStatus, Channel, MessageStatus, OutcomeKind, Plan, SkipReason
from core.settings import Settings
from tools.delivery.channels.base import (
    ChannelAdapter,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from tools.delivery.channels.html import EmailDesign, branded_html
from tools.delivery.channels.mime import text_to_html
from tools.delivery.channels.registry import build_adapters, close_adapters
from tools.delivery.journal import SendJournal, orphans, settle
from tools.delivery.optouts import (
    OptOutWatch,
    Recipient,
    suppressed_addresses,
    suppression_skip,
    withdrawn_skip,
)
from tools.delivery.scheduling import defer_quiet_hours, in_quiet_hours, resolve_tz
from tools.delivery.tokens import unsubscribe_url
from tools.delivery.tracking import (
    open_pixel_url,
    track_links,
    track_sms_links,
    with_open_pixel,
)

_log = logging.getLogger(__name__)

_SCHEDULED = MessageStatus.SCHEDULED.value
_SENDING = MessageStatus.SENDING.value
_SENT = MessageStatus.SENT.value
_FAILED = MessageStatus.FAILED.value
_SKIPPED = MessageStatus.SKIPPED.value
_CONDITION_OUTCOME = {
    "not_converted": OutcomeKind.CONVERTED.value,
    "not_clicked": OutcomeKind.CLICKED.value,
}
_CHANNEL_DOWN_AFTER = 3
"""Consecutive transient errors after which a channel is treated as down for the batch."""
_HALTED = (CampaignStatus.PAUSED.value, CampaignStatus.STOPPED.value)
"""Campaign statuses whose messages are not claimed (paused: held; stopped: skipped)."""
_SPACING_SLACK = timedelta(hours=1)
"""Most a journey step may go out before its full gap after the person's previous step has
passed (at most a tenth of the gap): a plan's send times drift a little from the actual sends
(seconds of dispatch), and that drift must not push every follow-up to the next cycle."""


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
    frequency_caps: dict[str, tuple[int, int]] = Field(default_factory=dict)
    """Per channel: (max messages, per days), counted across all campaigns over a rolling
    window ending at the send."""
    click_tracking: bool = True
    """E-mail links (and SMS links on `link_domains`) go through the signed click redirect."""
    link_domains: list[str] | None = None
    """The brand's allowed link domains: only their links are tracked. None: every e-mail link,
    no SMS link."""
    open_pixel: bool = False
    """E-mails carry an open pixel."""
    email_design: EmailDesign | None = None
    """The brand's e-mail look; the HTML part is built in it (a plain HTML rendering of the
    text when None)."""


class DispatchStats(BaseModel):
    """What one `run_once` did."""

    claimed: int = 0
    """Rows claimed (a row put back and claimed again counts again)."""
    sent: int = 0
    """Rows sent."""
    failed: int = 0
    """Rows marked failed (permanent error, attempts exhausted, misconfiguration)."""
    retried: int = 0
    """Transient errors: the row went back to `scheduled` with a backoff delay."""
    deferred: int = 0
    """Rows moved out of quiet hours and put back as scheduled."""
    released: int = 0
    """Rows handed back untried: channel down, or the dispatcher was asked to stop."""
    sms_segments: int = 0
    """SMS segments the provider accepted (what it bills)."""
    skipped: dict[str, int] = Field(default_factory=dict)
    """Rows skipped, per reason (`no_consent`, `unsubscribed`, `suppressed_bounce`,
    `suppressed_complaint`, `condition_not_met`, `frequency_cap`)."""


@dataclass(slots=True)
class _Claimed:
    """The parts of a claimed outbox row the dispatcher needs."""

    id: str
    idempotency_key: str
    campaign_id: str
    step_id: str
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


def _recipient(c: _Claimed) -> Recipient:
    return Recipient(c.customer_id, c.channel, c.to_address)


@dataclass(slots=True)
class _ToSend:
    """A checked message on its way out."""

    row: _Claimed
    channel: Channel
    adapter: ChannelAdapter
    tz: ZoneInfo


@dataclass
class _Pending:
    """Row updates waiting for the next commit."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    requeue: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent) + len(self.requeue) + len(self.failed) + len(self.skipped)


@dataclass
class _BatchRun:
    """One batch on its way out: sends in flight on the pool and results not yet committed."""

    stats: DispatchStats
    tally: _Tally
    pending: _Pending = field(default_factory=_Pending)
    in_flight: dict[futures.Future[Any], _ToSend] = field(default_factory=dict)
    done: queue.SimpleQueue[futures.Future[Any]] = field(default_factory=queue.SimpleQueue)
    """Sends of `in_flight` that finished, in the order they did (cheaper to wait on than
    `futures.wait` over every send in flight, once per message)."""
    down: dict[Channel, str] = field(default_factory=dict)
    errors_in_row: Counter[Channel] = field(default_factory=Counter)
    healthy: set[Channel] = field(default_factory=set)
    """Channels whose last finished send was accepted: they get concurrent sends."""


class _Tally:
    """Per-campaign counts for the run's audit record."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.errors: dict[str, list[dict[str, str]]] = {}

    def add(self, campaign_id: str, what: str, *, message_id: str = "", error: str = "") -> None:
        self.counts.setdefault(campaign_id, Counter())[what] += 1
        if error:
            sample = self.errors.setdefault(campaign_id, [])
            if len(sample) < 5:
                sample.append({"message_id": message_id, "outcome": what, "error": error[:300]})


class _Pacer:
    """Per-channel rate limit: at most `rate` sends per second, evenly spaced."""

    def __init__(self, rates: Mapping[str, float]) -> None:
        for ch, rate in rates.items():
            if rate <= 0:
                raise ValueError(f"rate limit for {ch} must be > 0 messages per second: {rate}")
        self._interval = {ch: 1.0 / rate for ch, rate in rates.items()}
        self._next: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        interval = self._interval.get(channel)
        if interval is None:
            return
        now = time.monotonic()
        due = self._next.get(channel, now)
        if due > now:
            time.sleep(due - now)
            now = due
        self._next[channel] = now + interval


_CLAIM_COLUMNS = [
    getattr(MessageRow, name) for name in _Claimed.__dataclass_fields__ if name != "claimed_by"
] + [MessageRow.claimed_by]

# Statements built once; bind names carry a `b_` prefix so they never clash with columns.
_MINE = and_(MessageRow.claimed_by == bindparam("b_token"), MessageRow.status == _SENDING)
_ONE_OF_MINE = and_(MessageRow.id == bindparam("b_id"), _MINE)
_U_RENEW = update(MessageRow).where(_MINE).values(claimed_at=bindparam("b_wall"))
_U_CLOSE = (
    update(MessageRow)
    .where(_ONE_OF_MINE)
    .values(status=bindparam("b_status"), skip_reason=bindparam("b_reason"), sent_at=None)
)
_U_FAIL = (
    update(MessageRow)
    .where(_ONE_OF_MINE)
    .values(status=_FAILED, last_error=bindparam("b_error"), sent_at=None)
)
_U_REQUEUE = (
    update(MessageRow)
    .where(_ONE_OF_MINE)
    .values(
        status=_SCHEDULED,
        scheduled_at=bindparam("b_until"),
        attempts=MessageRow.attempts - bindparam("b_untried"),
        last_error=func.coalesce(bindparam("b_error"), MessageRow.last_error),
        claimed_by=None,
        claimed_at=None,
        sent_at=None,
    )
)
_U_SENT = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("b_id"))
    .values(status=_SENT, sent_at=bindparam("b_at"), provider_message_id=bindparam("b_pid"))
)


class Dispatcher:
    """Sends due outbox messages. Create one per thread or process; they coordinate through
    the database only.

    Operational settings come from `settings`: `dispatch_lease_s`, `dispatch_max_attempts`,
    `dispatch_retry_base_s`/`_max_s`, `dispatch_commit_every`/`_interval_s` and
    `channel_rate_limits`. `should_stop` is polled between messages; when it returns True the
    dispatcher commits what it sent, hands the rest of its claim back and returns.
    """

    _journal: SendJournal
    """The send journal of the current run (see `tools.delivery.journal`)."""
    _pool: futures.ThreadPoolExecutor
    """The threads of the current run that make the provider calls."""

    def __init__(
        self,
        db: Database,
        adapters: Mapping[Channel, ChannelAdapter],
        policy: DispatchPolicy,
        settings: Settings,
        *,
        worker_id: str | None = None,
        batch_size: int = 500,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        if worker_id is not None and not 0 < len(worker_id) <= 48:
            raise ValueError("worker_id must be 1-48 characters (it is stored with a batch token)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if settings.dispatch_max_attempts < 1:
            raise ValueError("dispatch_max_attempts must be >= 1")
        if settings.dispatch_lease_s <= 0 or settings.dispatch_commit_every < 1:
            raise ValueError("dispatch_lease_s must be > 0 and dispatch_commit_every >= 1")
        resolve_tz(None, policy.default_timezone)  # fail now on a bad default zone
        self.db = db
        self.adapters = dict(adapters)
        self.policy = policy
        self.settings = settings
        self.worker_id = worker_id or (
            f"{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.batch_size = batch_size
        self.should_stop = should_stop or (lambda: False)
        self._pacer = _Pacer(settings.channel_rate_limits)
        base = max(settings.dispatch_retry_base_s, 0.0)
        self._backoff = wait_exponential(
            multiplier=base, max=max(settings.dispatch_retry_max_s, base)
        ) + wait_random(0, base)
        self._lease = timedelta(seconds=settings.dispatch_lease_s)
        slowest = max(
            (float(getattr(a, "timeout", 0) or 0) for a in self.adapters.values()), default=0
        )
        if slowest and settings.dispatch_lease_s < 3 * slowest:
            _log.warning(
                "dispatch lease (%ss) is under 3x the slowest adapter timeout (%ss): a hanging "
                "send may outlive its claim and be sent twice; raise AUTOCMO_DISPATCH_LEASE",
                settings.dispatch_lease_s,
                slowest,
            )
        self._as_of = utcnow()
        self._t0 = self._renewed = time.monotonic()
        self._journeys: dict[str, dict[str, tuple[str, timedelta]]] = {}
        self._concurrency = settings.dispatch_concurrency
        self._adapter_locks = {
            id(a): threading.Lock()
            for a in self.adapters.values()
            if not getattr(a, "thread_safe", False)
        }
        """Adapters that do not say they are thread-safe send one message at a time."""

    # --- the loop -------------------------------------------------------------------------

    def run_once(
        self, *, as_of: datetime | None = None, max_batches: int | None = None
    ) -> DispatchStats:
        """Claim and process batches until nothing is due (or `should_stop`, or `max_batches`
        were processed), then write one audit record per campaign touched.

        `as_of` (default: now) is the dispatcher's clock at the start of the run; it advances
        with the wall clock during the run and is used for due-ness, quiet hours, frequency
        windows and `sent_at`. Claim leases use the wall clock.
        """
        if as_of is None:
            as_of = utcnow()
        elif as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")
        self._as_of, self._t0 = as_of, time.monotonic()
        self._journeys = {}
        stats = DispatchStats()
        tally = _Tally()
        reconcile_journals(self.db, self.settings.journal_dir)
        self._journal = SendJournal(
            self.settings.journal_dir, self.worker_id, fsync=self.settings.dispatch_journal_fsync
        )
        self._pool = futures.ThreadPoolExecutor(self._concurrency, thread_name_prefix="send")
        try:
            for _ in itertools.count() if max_batches is None else range(max_batches):
                if self.should_stop() or not (batch := self._claim()):
                    break
                stats.claimed += len(batch)
                self._process_batch(batch, stats, tally)
        finally:
            self._pool.shutdown(wait=True)
            self._journal.close()
            self._audit(tally)
        return stats

    def _now(self) -> datetime:
        """The dispatcher's clock: `as_of` plus the wall time elapsed in this run."""
        return self._as_of + timedelta(seconds=time.monotonic() - self._t0)

    def _claim(self) -> list[_Claimed]:
        """Atomically move up to `batch_size` due rows to `sending` under a fresh token.

        PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED LIMIT n`, then `UPDATE … WHERE id IN
        (those)`, in one transaction; the rows stay locked in between, and other workers skip
        them. (Nesting that SELECT inside the UPDATE lets the planner re-run it and claim far
        more than `n` rows.) Lapsed claims are picked first, then scheduled rows, in two
        SELECTs: each walks `ix_messages_due` in `scheduled_at` order and stops after `n` rows,
        where one SELECT over both (an OR) reads and sorts every due row for each batch.
        SQLite: one `UPDATE … WHERE id IN (SELECT … LIMIT n) AND <still due>`; SQLite
        serializes writers, and the repeated due condition drops a row someone else claimed
        meanwhile.
        """
        token = f"{self.worker_id}/{uuid.uuid4().hex[:12]}"
        wall, renewed = utcnow(), time.monotonic()
        now, lapsed_before = self._now(), wall - self._lease
        due = _due(now, lapsed_before)
        with self.db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                ids: list[str] = []
                for arm in (_lapsed(lapsed_before), _scheduled_by(now)):
                    ids += conn.execute(
                        select(MessageRow.id)
                        .where(arm, _not_halted())
                        .order_by(MessageRow.scheduled_at)
                        .limit(self.batch_size - len(ids))
                        .with_for_update(skip_locked=True)
                    ).scalars()
                    if len(ids) >= self.batch_size:
                        break
                if not ids:
                    return []
                target: Any = one_of(conn, MessageRow.id, ids)
            else:
                target = MessageRow.id.in_(
                    select(MessageRow.id)
                    .where(due)
                    .order_by(MessageRow.scheduled_at)
                    .limit(self.batch_size)
                )
            stmt = (
                update(MessageRow)
                .where(target, due)
                .values(status=_SENDING, claimed_by=token, claimed_at=wall)
            )
            if conn.dialect.update_returning:
                rows = conn.execute(stmt.returning(*_CLAIM_COLUMNS)).all()
            else:
                conn.execute(stmt)
                rows = conn.execute(
                    select(*_CLAIM_COLUMNS).where(
                        MessageRow.claimed_by == token, MessageRow.status == _SENDING
                    )
                ).all()
        self._renewed = renewed
        claimed = [_Claimed(*r) for r in rows]
        claimed.sort(key=lambda c: (c.scheduled_at, c.id))
        return claimed

    def _process_batch(self, batch: list[_Claimed], stats: DispatchStats, tally: _Tally) -> None:
        token = batch[0].claimed_by
        to_send = self._check_batch(batch, token, stats, tally)
        run = _BatchRun(stats, tally)
        last_commit = time.monotonic()
        p = self.policy
        watch = OptOutWatch(
            self.db,
            (_recipient(item.row) for item in to_send),
            self.settings.dispatch_recheck_interval_s,
        )
        for i, item in enumerate(to_send):
            c = item.row
            # A free slot (and fresh news of a channel down). A channel goes one message at a
            # time until it has accepted one, and again after a transient error, so a dead
            # server costs `_CHANNEL_DOWN_AFTER` attempts, not a pool's worth.
            healthy = item.channel in run.healthy
            self._settle(run, limit=self._concurrency - 1 if healthy else 0)
            if self.should_stop():
                self._settle(run, limit=0)
                for rest in to_send[i:]:
                    self._requeue(run.pending, rest.row, rest.row.scheduled_at, untried=True)
                    stats.released += 1
                break
            now = self._now()
            if item.channel in run.down:
                until = now + timedelta(seconds=self.settings.dispatch_retry_base_s)
                self._requeue(run.pending, c, until, untried=True, error=run.down[item.channel])
                stats.released += 1
            elif in_quiet_hours(now, item.tz, p.quiet_start, p.quiet_end):
                # The batch ran into quiet hours after its check: defer, never drop.
                until = defer_quiet_hours(now, item.tz, p.quiet_start, p.quiet_end)
                self._requeue(run.pending, c, until, untried=True)
                stats.deferred += 1
                tally.add(c.campaign_id, "deferred")
            else:
                self._pacer.wait(item.channel.value)
                late = watch.skip_reason(_recipient(c))
                if late is None:
                    fut = self._pool.submit(self._provider_call, item)
                    run.in_flight[fut] = item
                    fut.add_done_callback(run.done.put)
                else:  # opted out or suppressed while the batch was being sent
                    run.pending.skipped.append(
                        {"b_id": c.id, "b_token": token, "b_status": _SKIPPED, "b_reason": late}
                    )
                    stats.skipped[late] = stats.skipped.get(late, 0) + 1
                    tally.add(c.campaign_id, f"skipped:{late}")
            elapsed = time.monotonic() - last_commit
            if (
                len(run.pending.sent) >= self.settings.dispatch_commit_every
                or elapsed >= self.settings.dispatch_commit_interval_s
                or time.monotonic() - self._renewed >= self.settings.dispatch_lease_s / 3
            ):  # (the last: a commit then that also renews the lease)
                # Everything in flight settles first: the commit empties the send journal.
                self._settle(run, limit=0)
                self._commit(run.pending, token)
                run.pending = _Pending()
                last_commit = time.monotonic()
        self._settle(run, limit=0)
        self._commit(run.pending, token)

    # --- checks ---------------------------------------------------------------------------

    def _check_batch(
        self, batch: list[_Claimed], token: str, stats: DispatchStats, tally: _Tally
    ) -> list[_ToSend]:
        """Send-time checks for the whole batch in one serialized transaction (see module
        docstring); returns the messages to send, with their attempt counted and their cap
        slot reserved."""
        now = self._now()
        to_send: list[_ToSend] = []
        closes: list[dict[str, Any]] = []
        fails: list[dict[str, Any]] = []
        defers: list[dict[str, Any]] = []
        sends: list[str] = []
        cids = sorted({c.customer_id for c in batch})
        with self.db.engine.begin() as conn:
            if conn.dialect.name != "postgresql":  # SQLite: take the write lock first
                self._renew(conn, token)
            else:  # (the claim has just set the lease)
                conn.execute(
                    select(CustomerRow.id)
                    .where(one_of(conn, CustomerRow.id, cids))
                    .order_by(CustomerRow.id)
                    .with_for_update()
                ).all()
            consents = {
                (r.customer_id, r.channel): (r.granted, r.source)
                for r in conn.execute(
                    select(
                        ConsentRow.customer_id,
                        ConsentRow.channel,
                        ConsentRow.granted,
                        ConsentRow.source,
                    ).where(one_of(conn, ConsentRow.customer_id, cids))
                )
            }
            tzs = dict(
                conn.execute(
                    select(CustomerRow.id, CustomerRow.timezone).where(
                        one_of(conn, CustomerRow.id, cids)
                    )
                ).all()
            )
            suppressed = suppressed_addresses(conn, map(_recipient, batch))
            met = self._conditions_met(conn, batch)
            sends_so_far = self._recent_sends(conn, batch, token, now)
            halted = self._halted(conn, batch)
            not_before = self._spacing(conn, batch, now)

            for c in batch:
                verdict, detail, tz = self._verdict(
                    c, now, consents, tzs, suppressed, met, sends_so_far
                )
                if halted.get(c.campaign_id) == CampaignStatus.STOPPED.value:
                    verdict, detail = "skip", SkipReason.CAMPAIGN_STOPPED.value
                elif c.campaign_id in halted:  # paused after the claim: back, untouched
                    defers.append(self._requeue_params(c, until=c.scheduled_at, token=token))
                    stats.released += 1
                    continue
                elif verdict == "send" and c.id in not_before:
                    # The journey's spacing: the previous step went out late (or has not yet).
                    defers.append(self._requeue_params(c, until=not_before[c.id], token=token))
                    stats.deferred += 1
                    tally.add(c.campaign_id, "deferred_spacing")
                    continue
                if verdict == "send":
                    try:
                        channel = Channel(c.channel)
                    except ValueError:  # pragma: no cover - _verdict checked it
                        continue
                    assert tz is not None
                    sends.append(c.id)
                    c.attempts += 1
                    sends_so_far[(c.customer_id, c.channel)] += 1
                    to_send.append(_ToSend(c, channel, self.adapters[channel], tz))
                elif verdict == "skip":
                    closes.append(
                        {"b_id": c.id, "b_token": token, "b_status": _SKIPPED, "b_reason": detail}
                    )
                    stats.skipped[detail] = stats.skipped.get(detail, 0) + 1
                    tally.add(c.campaign_id, f"skipped:{detail}")
                elif verdict == "defer":
                    assert tz is not None
                    until = defer_quiet_hours(
                        now, tz, self.policy.quiet_start, self.policy.quiet_end
                    )
                    defers.append(self._requeue_params(c, until=until, token=token))
                    stats.deferred += 1
                    tally.add(c.campaign_id, "deferred")
                else:
                    _log.warning("message %s failed: %s", c.id, mask_text(detail))
                    fails.append({"b_id": c.id, "b_token": token, "b_error": detail[:2000]})
                    stats.failed += 1
                    tally.add(c.campaign_id, _FAILED, message_id=c.id, error=detail)
            if sends:  # one statement: every send of the batch has the same time and token
                conn.execute(
                    update(MessageRow)
                    .where(one_of(conn, MessageRow.id, sends), _MINE)
                    .values(attempts=MessageRow.attempts + 1, sent_at=now),
                    {"b_token": token},
                )
            for stmt, params in (
                (_U_CLOSE, closes),
                (_U_FAIL, fails),
                (_U_REQUEUE, defers),
            ):
                if params:
                    conn.execute(stmt, params)
        return to_send

    def _verdict(
        self,
        c: _Claimed,
        now: datetime,
        consents: Mapping[tuple[str, str], tuple[bool, str]],
        tzs: Mapping[str, str | None],
        suppressed: Mapping[tuple[str, str], str],
        met: set[tuple[str, str, str]],
        sends_so_far: Counter[tuple[str, str]],
    ) -> tuple[str, str, ZoneInfo | None]:
        """(`send` | `skip` | `defer` | `fail`, reason or error, the person's zone)."""
        p = self.policy
        try:
            channel = Channel(c.channel)
        except ValueError:
            return "fail", f"unknown channel {c.channel!r}", None
        if channel not in self.adapters:
            return "fail", f"no adapter configured for channel {channel.value}", None
        if c.attempts >= self.settings.dispatch_max_attempts:
            return "fail", f"gave up after {c.attempts} attempts; last error: {c.last_error}", None

        reason = suppressed.get((c.channel, normalize_address(channel, c.to_address)))
        if reason is not None:
            return "skip", suppression_skip(reason), None
        consent = consents.get((c.customer_id, c.channel))
        if consent is None:
            return "skip", SkipReason.NO_CONSENT.value, None
        granted, source = consent
        if not granted:
            return "skip", withdrawn_skip(source), None

        if c.condition != "always":
            kind = _CONDITION_OUTCOME.get(c.condition)
            if kind is None:
                return "fail", f"unknown step condition {c.condition!r}", None
            if (c.campaign_id, c.customer_id, kind) in met:
                return "skip", SkipReason.CONDITION_NOT_MET.value, None

        tz = resolve_tz(tzs.get(c.customer_id), p.default_timezone)
        if in_quiet_hours(now, tz, p.quiet_start, p.quiet_end):
            return "defer", "quiet_hours", tz

        cap = p.frequency_caps.get(c.channel)
        if cap is not None and sends_so_far[(c.customer_id, c.channel)] >= cap[0]:
            return "skip", SkipReason.FREQUENCY_CAP.value, tz
        return "send", "", tz

    def _halted(self, conn: Connection, batch: Iterable[_Claimed]) -> dict[str, str]:
        """Campaigns of the batch paused or stopped since the claim, with their status."""
        rows = conn.execute(
            select(CampaignRow.id, CampaignRow.status).where(
                CampaignRow.id.in_(sorted({c.campaign_id for c in batch})),
                CampaignRow.status.in_(_HALTED),
            )
        )
        return {r.id: r.status for r in rows}

    def _spacing(
        self, conn: Connection, batch: Iterable[_Claimed], now: datetime
    ) -> dict[str, datetime]:
        """Messages of a journey's later steps that must wait, with the time they may go out.

        A step follows the person's previous step of the journey by at least the plan's gap
        (the difference of the steps' delays), measured from when the previous step was
        actually sent; while the previous step is still waiting or being sent, from now. So a
        person never gets two steps minutes apart because both fell due during an outage.
        """
        prev_of = self._previous_steps(conn, {c.campaign_id for c in batch})
        prev_key: dict[str, str] = {}
        for c in batch:
            prev = prev_of.get(c.campaign_id, {}).get(c.step_id)
            own = f"{c.step_id}:{c.customer_id}"
            if prev is not None and c.idempotency_key.endswith(own):
                # The same journey entry's previous step: its key differs only in the step id.
                stem = c.idempotency_key[: -len(own)]
                prev_key[c.id] = f"{stem}{prev[0]}:{c.customer_id}"
        if not prev_key:
            return {}
        previous = {
            r.idempotency_key: (r.status, r.sent_at)
            for r in conn.execute(
                select(MessageRow.idempotency_key, MessageRow.status, MessageRow.sent_at).where(
                    one_of(conn, MessageRow.idempotency_key, sorted(set(prev_key.values()))),
                    MessageRow.status.in_([_SENT, _SCHEDULED, _SENDING]),
                )
            )
        }
        out: dict[str, datetime] = {}
        for c in batch:
            found = previous.get(prev_key.get(c.id, ""))
            if found is None:
                continue  # a first step, no previous message, or it was skipped or failed
            gap = prev_of[c.campaign_id][c.step_id][1]
            status, sent_at = found
            if status == _SENT and sent_at is not None:
                if now < sent_at + gap - min(_SPACING_SLACK, gap / 10):
                    out[c.id] = sent_at + gap
            else:
                out[c.id] = now + gap
        return out

    def _previous_steps(
        self, conn: Connection, campaign_ids: set[str]
    ) -> dict[str, dict[str, tuple[str, timedelta]]]:
        """Per campaign, per journey step after the first: (previous step id, gap), from the
        campaign's current plan (read once per run)."""
        missing = sorted(campaign_ids - set(self._journeys))
        if missing:
            latest = (
                select(PlanRow.campaign_id, func.max(PlanRow.version).label("v"))
                .where(PlanRow.campaign_id.in_(missing))
                .group_by(PlanRow.campaign_id)
                .subquery()
            )
            rows = conn.execute(
                select(PlanRow.campaign_id, PlanRow.plan).join(
                    latest,
                    and_(
                        PlanRow.campaign_id == latest.c.campaign_id,
                        PlanRow.version == latest.c.v,
                    ),
                )
            )
            for cid in missing:
                self._journeys[cid] = {}
            for cid, data in rows:
                steps = Plan.model_validate(data).journey
                self._journeys[cid] = {
                    cur.id: (
                        prev.id,
                        timedelta(hours=max(cur.delay_hours - prev.delay_hours, 0.0)),
                    )
                    for prev, cur in itertools.pairwise(steps)
                }
        return {cid: self._journeys[cid] for cid in campaign_ids}

    def _conditions_met(
        self, conn: Connection, batch: Iterable[_Claimed]
    ) -> set[tuple[str, str, str]]:
        conditional = [c for c in batch if c.condition in _CONDITION_OUTCOME]
        if not conditional:
            return set()
        rows = conn.execute(
            select(OutcomeRow.campaign_id, OutcomeRow.customer_id, OutcomeRow.kind)
            .where(
                one_of(conn, OutcomeRow.customer_id, sorted({c.customer_id for c in conditional})),
                OutcomeRow.kind.in_(sorted(set(_CONDITION_OUTCOME.values()))),
            )
            .distinct()
        )
        return {(r.campaign_id, r.customer_id, r.kind) for r in rows}

    def _recent_sends(
        self, conn: Connection, batch: Iterable[_Claimed], token: str, now: datetime
    ) -> Counter[tuple[str, str]]:
        """Per (customer, capped channel): messages sent in the cap window, plus those other
        dispatchers have reserved (checked, `sending`, not yet recorded)."""
        counts: Counter[tuple[str, str]] = Counter()
        by_channel: dict[str, set[str]] = {}
        for c in batch:
            if c.channel in self.policy.frequency_caps:
                by_channel.setdefault(c.channel, set()).add(c.customer_id)
        for ch, cids in by_channel.items():
            days = self.policy.frequency_caps[ch][1]
            rows = conn.execute(
                select(MessageRow.customer_id, func.count())
                .where(
                    one_of(conn, MessageRow.customer_id, sorted(cids)),
                    MessageRow.channel == ch,
                    MessageRow.sent_at >= now - timedelta(days=days),
                    or_(
                        MessageRow.status == _SENT,
                        and_(MessageRow.status == _SENDING, MessageRow.claimed_by != token),
                    ),
                )
                .group_by(MessageRow.customer_id)
            )
            for cid, n in rows:
                counts[(cid, ch)] = int(n)
        return counts

    # --- sending --------------------------------------------------------------------------

    def _provider_call(self, item: _ToSend) -> tuple[SendResult, datetime]:
        """On a pool thread: hand one message to its adapter, journalled before and after."""
        c = item.row
        self._journal.sending(c.id)
        lock = self._adapter_locks.get(id(item.adapter))
        if lock is None:
            result = item.adapter.send(self._outbound(c, item.channel))
        else:
            with lock:
                result = item.adapter.send(self._outbound(c, item.channel))
        at = self._now()
        self._journal.sent(c.id, result.provider_message_id, at)
        return result, at

    def _settle(self, run: _BatchRun, *, limit: int) -> None:
        """Wait until at most `limit` sends are in flight and record the finished ones."""
        while len(run.in_flight) > limit:
            fut = run.done.get()
            self._record(run, run.in_flight.pop(fut), fut)

    def _record(self, run: _BatchRun, item: _ToSend, fut: futures.Future[Any]) -> None:
        c, stats, tally = item.row, run.stats, run.tally
        try:
            result, at = fut.result()
        except TransientSendError as exc:
            run.healthy.discard(item.channel)
            run.errors_in_row[item.channel] += 1
            if run.errors_in_row[item.channel] >= _CHANNEL_DOWN_AFTER:
                run.down[item.channel] = f"not tried: {item.channel.value} looks down: {exc}"
            self._transient(run.pending, c, str(exc), stats, tally)
            return
        except PermanentSendError as exc:
            self._fail(run.pending, c, str(exc), stats, tally)
            return
        except Exception as exc:  # an adapter bug must not wedge the row in `sending`
            _log.error("adapter for %s raised unexpectedly on %s", item.channel, c.id, exc_info=exc)
            self._fail(run.pending, c, f"unexpected {type(exc).__name__}: {exc}", stats, tally)
            return
        run.errors_in_row[item.channel] = 0
        run.healthy.add(item.channel)
        self._record_sent(run.pending, c, result, at)
        stats.sent += 1
        if result.segments:
            stats.sms_segments += result.segments
        tally.add(c.campaign_id, _SENT)

    def _outbound(self, c: _Claimed, channel: Channel) -> OutboundMessage:
        body, html = c.body, None
        if channel is Channel.EMAIL:
            p = self.policy
            if p.click_tracking:
                body = track_links(self.settings, c.id, body, p.link_domains)
            if p.email_design is not None:
                html = branded_html(body, p.email_design, brand=p.from_name, title=c.subject or "")
            if p.open_pixel:
                doc = html or text_to_html(body)
                html = with_open_pixel(doc, open_pixel_url(self.settings, c.id))
        elif channel is Channel.SMS and self.policy.click_tracking and self.policy.link_domains:
            body = track_sms_links(self.settings, c.id, body, self.policy.link_domains)
        return OutboundMessage(
            id=c.id,
            idempotency_key=c.idempotency_key,
            channel=channel,
            to=c.to_address,
            subject=c.subject,
            body=body,
            html=html,
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

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait before attempt `attempts + 1`: exponential from
        `dispatch_retry_base_s`, capped at `dispatch_retry_max_s`, plus up to one base of jitter."""
        state = RetryCallState(Retrying(), None, (), {})
        state.attempt_number = max(attempts, 1)
        return float(self._backoff(state))

    def _transient(
        self, pending: _Pending, c: _Claimed, error: str, stats: DispatchStats, tally: _Tally
    ) -> None:
        if c.attempts >= self.settings.dispatch_max_attempts:
            self._fail(pending, c, f"gave up after {c.attempts} attempts: {error}", stats, tally)
            return
        until = self._now() + timedelta(seconds=self.retry_delay(c.attempts))
        self._requeue(pending, c, until, untried=False, error=error)
        stats.retried += 1
        tally.add(c.campaign_id, "retried", message_id=c.id, error=error)

    def _fail(
        self, pending: _Pending, c: _Claimed, error: str, stats: DispatchStats, tally: _Tally
    ) -> None:
        _log.warning("message %s failed: %s", c.id, mask_text(error))
        pending.failed.append({"b_id": c.id, "b_token": c.claimed_by, "b_error": error[:2000]})
        stats.failed += 1
        tally.add(c.campaign_id, _FAILED, message_id=c.id, error=error)

    def _requeue_params(
        self,
        c: _Claimed,
        *,
        token: str,
        until: datetime,
        untried: bool = False,
        error: str | None = None,
    ) -> dict[str, Any]:
        return {
            "b_id": c.id,
            "b_token": token,
            "b_until": until,
            "b_untried": 1 if untried else 0,
            "b_error": None if error is None else error[:2000],
        }

    def _requeue(
        self,
        pending: _Pending,
        c: _Claimed,
        until: datetime,
        *,
        untried: bool,
        error: str | None = None,
    ) -> None:
        pending.requeue.append(
            self._requeue_params(c, token=c.claimed_by, until=until, untried=untried, error=error)
        )

    def _record_sent(
        self, pending: _Pending, c: _Claimed, result: SendResult, at: datetime
    ) -> None:
        pending.sent.append(_sent_params(c.id, at, result.provider_message_id, c))

    # --- recording ------------------------------------------------------------------------

    def _commit(self, pending: _Pending, token: str) -> None:
        """Write a group of results in one transaction and renew the lease of the rest.

        `sent` is recorded even if our claim lapsed meanwhile: the provider accepted it."""
        with self.db.engine.begin() as conn:
            if pending.sent:
                _mark_sent(conn, pending.sent)
            if pending.requeue:
                conn.execute(_U_REQUEUE, pending.requeue)
            if pending.failed:
                conn.execute(_U_FAIL, pending.failed)
            if pending.skipped:
                conn.execute(_U_CLOSE, pending.skipped)
            if time.monotonic() - self._renewed >= self._lease.total_seconds() / 3:
                self._renew(conn, token)
        self._journal.committed()

    def _renew(self, conn: Connection, token: str) -> None:
        """Renew the lease of the batch's rows still `sending`. `_process_batch` commits once a
        third of the lease has passed since the last renewal (checked between messages, after
        the sends in flight settle), and that commit renews; other commits do not, since each
        renewal writes a new version of every row still in the batch."""
        self._renewed = time.monotonic()
        conn.execute(_U_RENEW, {"b_token": token, "b_wall": utcnow()})

    def _audit(self, tally: _Tally) -> None:
        """One audit record per campaign touched by this run (not one per message)."""
        if not tally.counts:
            return
        try:
            with self.db.session() as s:
                for cid, counts in sorted(tally.counts.items()):
                    parts = [
                        f"{n} {what.replace('skipped:', 'skipped ')}"
                        for what, n in sorted(counts.items())
                    ]
                    s.add(
                        decision_row(
                            campaign_id=cid,
                            agent="dispatcher",
                            action="dispatch_run",
                            reason="dispatch run: " + ", ".join(parts),
                            evidence={
                                "worker_id": self.worker_id,
                                "as_of": self._as_of.isoformat(),
                                "counts": dict(counts),
                                "errors": tally.errors.get(cid, []),
                            },
                        )
                    )
        except Exception:  # the outbox rows carry every outcome; the summary must not crash
            _log.exception("could not write the dispatch audit record")


def _due(now: datetime, lapsed_before: datetime) -> Any:
    """Claimable rows: scheduled and due by `now`, or claimed before `lapsed_before` (a dead
    dispatcher's), of campaigns that are not paused or stopped."""
    return and_(or_(_scheduled_by(now), _lapsed(lapsed_before)), _not_halted())


def _scheduled_by(now: datetime) -> Any:
    return and_(MessageRow.status == _SCHEDULED, MessageRow.scheduled_at <= now)


def _lapsed(before: datetime) -> Any:
    return and_(MessageRow.status == _SENDING, MessageRow.claimed_at < before)


def _not_halted() -> Any:
    return MessageRow.campaign_id.not_in(
        select(CampaignRow.id).where(CampaignRow.status.in_(_HALTED))
    )


def count_due(db: Database, settings: Settings, *, as_of: datetime) -> int:
    """How many outbox rows a dispatcher could claim now (what the job queue splits into
    dispatch jobs)."""
    lapsed = utcnow() - timedelta(seconds=settings.dispatch_lease_s)
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(MessageRow).where(_due(as_of, lapsed))
            ).scalar_one()
        )


def _sent_params(message_id: str, at: datetime, provider_id: str, row: Any) -> dict[str, Any]:
    """Parameters of `_U_SENT` and `_insert_delivered` for one accepted message; `row` has
    its `campaign_id` and `customer_id`."""
    return {
        "b_id": message_id,
        "b_at": at,
        "b_pid": provider_id[:200],
        "campaign_id": row.campaign_id,
        "customer_id": row.customer_id,
    }


def reconcile_journals(db: Database, directory: Path) -> None:
    """Record as sent what dead dispatchers' journals say a provider accepted (so it is not
    sent again), then remove those journals. Runs at the start of every dispatch run."""
    for orphan in orphans(directory):
        accepted = {j.message_id: j for j in orphan.sent}
        if accepted:
            with db.engine.begin() as conn:
                rows = conn.execute(
                    select(MessageRow.id, MessageRow.campaign_id, MessageRow.customer_id).where(
                        one_of(conn, MessageRow.id, sorted(accepted)), MessageRow.status != _SENT
                    )
                ).all()
                params = [
                    _sent_params(r.id, accepted[r.id].at, accepted[r.id].provider_message_id, r)
                    for r in rows
                ]
                if params:
                    _mark_sent(conn, params)
        _log.warning(
            "send journal %s of a dead dispatcher: %d accepted message(s) recorded as sent; "
            "in flight, may be sent again: %s",
            orphan.path.name,
            len(accepted),
            ", ".join(orphan.in_flight) or "none",
        )
        settle(orphan)


def _mark_sent(conn: Connection, sent: list[dict[str, Any]]) -> None:
    """Record accepted messages (`_sent_params`) as sent, with a `delivered` outcome each. On
    PostgreSQL one UPDATE joined to the arrays of ids, times and provider ids (`unnest`)
    instead of one per message."""
    if conn.dialect.name == "postgresql":
        v = _pg_rows(
            id=([s["b_id"] for s in sent], String),
            at=([s["b_at"] for s in sent], DateTime(timezone=True)),
            pid=([s["b_pid"] for s in sent], String),
        )
        conn.execute(
            update(MessageRow)
            .where(MessageRow.id == v.c.id)
            .values(status=_SENT, sent_at=v.c.at, provider_message_id=v.c.pid)
        )
    else:
        conn.execute(_U_SENT, sent)
    _insert_delivered(conn, sent)


def _pg_rows(**columns: tuple[list[Any], Any]) -> Any:
    """PostgreSQL: lists of values (with their column types) as one derived table `v`, the
    `unnest` of one array parameter per column: a statement over many rows with a handful of
    parameters, instead of one statement per row."""
    arrays = [bindparam(None, values, type_=ARRAY(t)) for values, t in columns.values()]
    return func.unnest(*arrays).table_valued(*columns).render_derived("v")


def _insert_delivered(conn: Connection, sent: list[dict[str, Any]]) -> None:
    """A `delivered` outcome per sent message; ignores ones already recorded."""
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        v = _pg_rows(
            campaign_id=([s["campaign_id"] for s in sent], String),
            customer_id=([s["customer_id"] for s in sent], String),
            message_id=([s["b_id"] for s in sent], String),
            at=([s["b_at"] for s in sent], DateTime(timezone=True)),
        )
        columns = ["campaign_id", "customer_id", "message_id", "kind", "value", "at"]
        values = select(
            v.c.campaign_id,
            v.c.customer_id,
            v.c.message_id,
            literal(OutcomeKind.DELIVERED.value, String),
            literal(0.0, Float),
            v.c.at,
        )
        conn.execute(pg_insert(OutcomeRow).from_select(columns, values).on_conflict_do_nothing())
        return
    rows = [
        {
            "campaign_id": s["campaign_id"],
            "customer_id": s["customer_id"],
            "message_id": s["b_id"],
            "kind": OutcomeKind.DELIVERED.value,
            "value": 0.0,
            "at": s["b_at"],
        }
        for s in sent
    ]
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(OutcomeRow).on_conflict_do_nothing(), rows)
        return
    existing = set(
        conn.execute(
            select(OutcomeRow.message_id).where(
                OutcomeRow.message_id.in_([r["message_id"] for r in rows]),
                OutcomeRow.kind == OutcomeKind.DELIVERED.value,
            )
        ).scalars()
    )
    fresh = [r for r in rows if r["message_id"] not in existing]
    if fresh:
        conn.execute(insert(OutcomeRow), fresh)


def dispatch_due(
    db: Database,
    settings: Settings,
    policy: DispatchPolicy,
    *,
    as_of: datetime,
    worker_id: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DispatchStats:
    """One dispatch cycle: send every message due as of `as_of` through the channel adapters the
    settings configure; `should_stop` (polled between messages) makes it hand back what it
    claimed and return."""
    adapters = build_adapters(settings)
    try:
        dispatcher = Dispatcher(
            db,
            adapters,
            policy,
            settings,
            worker_id=worker_id,
            batch_size=settings.dispatch_batch_size,
            should_stop=should_stop,
        )
        return dispatcher.run_once(as_of=as_of)
    finally:
        close_adapters(adapters)
