"""The dispatcher on a real SQLite file, sending to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import ConsentRow, CustomerRow, Database, MessageRow, OutcomeRow, utcnow
from core.models import Channel
from core.settings import Settings
from tests.support.servers import SMTPSink
from tools.delivery.channels.base import ChannelAdapter, OutboundMessage, SendResult
from tools.delivery.channels.file_sink import FileSinkAdapter
from tools.delivery.channels.smtp import SMTPAdapter
from tools.delivery.dispatch import Dispatcher, DispatchPolicy, DispatchStats
from tools.delivery.tokens import verify_token

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
"""Monday 15:00 UTC: 16:00 in Berlin (allowed), 00:00 in Tokyo (quiet)."""

POLICY = DispatchPolicy(
    from_name="Trail & Co",
    from_email="hello@shop.example",
    default_timezone="Europe/Berlin",
    quiet_start=21,
    quiet_end=8,
)


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def add_customer(
    db: Database,
    cid: str,
    *,
    tz: str | None = "Europe/Berlin",
    granted: bool | None = True,
    source: str = "signup_form",
    channel: str = "email",
) -> None:
    with db.session() as s:
        s.add(CustomerRow(id=cid, email=f"{cid}@example.com", timezone=tz, traits={}))
        s.flush()
        if granted is not None:
            s.add(
                ConsentRow(
                    customer_id=cid,
                    channel=channel,
                    granted=granted,
                    source=source,
                    at=T0 - timedelta(days=30),
                )
            )


def add_message(
    db: Database,
    mid: str,
    cid: str,
    *,
    at: datetime = T0 - timedelta(minutes=5),
    condition: str = "always",
    channel: str = "email",
    campaign: str = "cmp_1",
    **extra: object,
) -> None:
    with db.session() as s:
        s.add(
            MessageRow(
                id=mid,
                idempotency_key=f"{campaign}:s1:{cid}:{mid}",
                campaign_id=campaign,
                step_id="s1",
                customer_id=cid,
                variant_id="var_a",
                arm="A",
                channel=channel,
                to_address=f"{cid}@example.com",
                subject=f"Hello {cid}",
                body=f"Hi {cid},\n\nNew arrivals: https://shop.example/new\n\nFooter.",
                condition=condition,
                scheduled_at=at,
                status="scheduled",
                **extra,
            )
        )


def row(db: Database, mid: str) -> MessageRow:
    with db.session() as s:
        r = s.get(MessageRow, mid)
        assert r is not None
        s.expunge(r)
        return r


def make(
    db: Database,
    settings: Settings,
    sink: SMTPSink,
    policy: DispatchPolicy = POLICY,
    *,
    retry_base_s: float = 0.0,
    worker_id: str | None = None,
    batch_size: int = 500,
    should_stop: Callable[[], bool] | None = None,
    **overrides: Any,
) -> tuple[Dispatcher, SMTPAdapter]:
    """A dispatcher sending to `sink`; `overrides` are Settings fields."""
    adapter = SMTPAdapter(
        "127.0.0.1", sink.port, timeout=5, max_connections=settings.dispatch_concurrency
    )
    adapters: dict[Channel, ChannelAdapter] = {Channel.EMAIL: adapter}
    tuned = settings.model_copy(
        update={"dispatch_retry_base_s": retry_base_s, "dispatch_retry_max_s": 3600, **overrides}
    )
    dispatcher = Dispatcher(
        db,
        adapters,
        policy,
        tuned,
        worker_id=worker_id,
        batch_size=batch_size,
        should_stop=should_stop,
    )
    return dispatcher, adapter


def run(dispatcher: Dispatcher, adapter: SMTPAdapter, as_of: datetime = T0) -> DispatchStats:
    try:
        return dispatcher.run_once(as_of=as_of)
    finally:
        adapter.close()


def test_sends_due_messages_only_and_records_delivery(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_a")
    add_message(db, "msg_due", "cus_a")
    add_message(db, "msg_later", "cus_a", at=T0 + timedelta(hours=1))

    stats = run(*make(db, settings, smtp_sink))

    assert (stats.claimed, stats.sent, stats.failed, stats.skipped) == (1, 1, 0, {})
    assert [m["Message-ID"] for m in smtp_sink.messages] == ["<msg_due@shop.example>"]
    got = smtp_sink.messages[0]
    assert got["From"] == "Trail & Co <hello@shop.example>"
    assert got["X-Autocmo-Idempotency-Key"] == "cmp_1:s1:cus_a:msg_due"
    token = got["List-Unsubscribe"].strip("<>").rsplit("/u/", 1)[1]
    assert verify_token(settings.secret_key, token)["customer_id"] == "cus_a"

    sent = row(db, "msg_due")
    assert sent.status == "sent" and sent.attempts == 1
    assert sent.provider_message_id == "<msg_due@shop.example>"
    assert sent.sent_at is not None and sent.sent_at.tzinfo is not None
    assert row(db, "msg_later").status == "scheduled"
    with db.session() as s:
        outcomes = s.scalars(select(OutcomeRow)).all()
        assert [(o.kind, o.message_id, o.customer_id) for o in outcomes] == [
            ("delivered", "msg_due", "cus_a")
        ]

    # Idempotent: a second run finds nothing to do.
    again = run(*make(db, settings, smtp_sink))
    assert again.claimed == 0 and len(smtp_sink.messages) == 1


def test_concurrent_sends_go_over_a_few_reused_smtp_connections(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    for i in range(40):
        add_customer(db, f"cus_{i:02d}")
        add_message(db, f"msg_{i:02d}", f"cus_{i:02d}")
    smtp_sink.delay_s = 0.01  # each reply waits: the next sends go out on other connections

    stats = run(*make(db, settings.model_copy(update={"dispatch_concurrency": 4}), smtp_sink))

    assert stats.sent == 40
    assert len(smtp_sink.ids) == 40 and set(smtp_sink.ids.values()) == {1}
    connections = Counter(smtp_sink.peers)
    assert 2 <= len(connections) <= 4  # concurrent, within the pool's size ...
    assert sum(connections.values()) == 40  # ... and each connection carried many messages
    assert max(connections.values()) >= 10


def test_consent_is_checked_at_send_time(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_unsub")
    add_customer(db, "cus_none", granted=None)
    add_customer(db, "cus_revoked", granted=False, source="import")
    add_customer(db, "cus_sms_only", channel="sms")
    for cid in ("cus_unsub", "cus_none", "cus_revoked", "cus_sms_only"):
        add_message(db, f"msg_{cid}", cid)
    # The person unsubscribes after the message was scheduled.
    with db.session() as s:
        consent = s.get(ConsentRow, ("cus_unsub", "email"))
        assert consent is not None
        consent.granted, consent.source, consent.at = False, "unsubscribe", T0

    stats = run(*make(db, settings, smtp_sink))

    assert smtp_sink.messages == []
    assert stats.skipped == {"unsubscribed": 1, "no_consent": 3}
    assert row(db, "msg_cus_unsub").skip_reason == "unsubscribed"
    for cid in ("cus_none", "cus_revoked", "cus_sms_only"):
        r = row(db, f"msg_{cid}")
        assert (r.status, r.skip_reason, r.attempts) == ("skipped", "no_consent", 0)


def test_step_conditions(db: Database, settings: Settings, smtp_sink: SMTPSink) -> None:
    for cid in ("cus_conv", "cus_click", "cus_open"):
        add_customer(db, cid)
    with db.session() as s:
        s.add(OutcomeRow(campaign_id="cmp_1", customer_id="cus_conv", kind="converted", at=T0))
        s.add(OutcomeRow(campaign_id="cmp_1", customer_id="cus_click", kind="clicked", at=T0))
        # A conversion in *another* campaign does not count.
        s.add(OutcomeRow(campaign_id="cmp_9", customer_id="cus_open", kind="converted", at=T0))
    add_message(db, "m1", "cus_conv", condition="not_converted")
    add_message(db, "m2", "cus_click", condition="not_clicked")
    add_message(db, "m3", "cus_click", condition="not_converted")
    add_message(db, "m4", "cus_open", condition="not_converted")
    add_message(db, "m5", "cus_open", condition="sometimes")

    stats = run(*make(db, settings, smtp_sink))

    assert stats.skipped == {"condition_not_met": 2}
    assert {row(db, m).status for m in ("m3", "m4")} == {"sent"}
    assert row(db, "m5").status == "failed"
    assert "unknown step condition" in (row(db, "m5").last_error or "")
    assert sorted(m["Message-ID"] for m in smtp_sink.messages) == [
        "<m3@shop.example>",
        "<m4@shop.example>",
    ]


def test_quiet_hours_defer_in_the_persons_timezone(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_tokyo", tz="Asia/Tokyo")
    add_customer(db, "cus_unknown_tz", tz="Not/AZone")  # falls back to Berlin: 16:00, allowed
    add_message(db, "m_tokyo", "cus_tokyo")
    add_message(db, "m_berlin", "cus_unknown_tz")

    stats = run(*make(db, settings, smtp_sink))

    assert (stats.sent, stats.deferred) == (1, 1)
    deferred = row(db, "m_tokyo")
    assert deferred.status == "scheduled" and deferred.claimed_by is None
    assert deferred.scheduled_at == datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # 08:00 Tokyo
    assert deferred.attempts == 0
    assert [m["To"] for m in smtp_sink.messages] == ["cus_unknown_tz@example.com"]

    later = run(*make(db, settings, smtp_sink), as_of=deferred.scheduled_at)
    assert later.sent == 1 and row(db, "m_tokyo").status == "sent"


def test_frequency_cap_counts_across_campaigns(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_busy")
    add_customer(db, "cus_quiet")
    for cid, days_ago in (("cus_busy", 2), ("cus_quiet", 8)):
        add_message(db, f"old_{cid}", cid, campaign="cmp_other", at=T0 - timedelta(days=days_ago))
        with db.session() as s:
            r = s.get(MessageRow, f"old_{cid}")
            assert r is not None
            r.status, r.sent_at = "sent", T0 - timedelta(days=days_ago)
        add_message(db, f"new_{cid}", cid)
    policy = POLICY.model_copy(update={"frequency_caps": {"email": (1, 7)}})

    stats = run(*make(db, settings, smtp_sink, policy))

    assert stats.skipped == {"frequency_cap": 1} and stats.sent == 1
    assert row(db, "new_cus_busy").skip_reason == "frequency_cap"
    assert row(db, "new_cus_quiet").status == "sent"


def test_transient_failure_goes_back_with_a_backoff_then_sends(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_a")
    add_message(db, "m1", "cus_a")
    smtp_sink.fail_next = 1

    stats = run(*make(db, settings, smtp_sink, retry_base_s=60))

    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    r = row(db, "m1")
    assert (r.status, r.attempts, r.claimed_by, r.sent_at) == ("scheduled", 1, None, None)
    assert "451" in (r.last_error or "")
    # exponential backoff from 60 s plus up to 60 s of jitter, not an in-process sleep
    assert T0 + timedelta(seconds=60) <= r.scheduled_at <= T0 + timedelta(seconds=125)
    assert run(*make(db, settings, smtp_sink), as_of=r.scheduled_at - timedelta(seconds=1)) == (
        DispatchStats()
    )

    again = run(*make(db, settings, smtp_sink, retry_base_s=60), as_of=r.scheduled_at)

    assert again.sent == 1
    r = row(db, "m1")
    assert (r.status, r.attempts) == ("sent", 2)
    assert "451" in (r.last_error or "")  # the last transient error is kept for the record
    assert len(smtp_sink.messages) == 1


def test_backoff_grows_exponentially_up_to_the_cap(db: Database, settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"dispatch_retry_base_s": 10.0, "dispatch_retry_max_s": 100.0}
    )
    d = Dispatcher(db, {}, POLICY, tuned)
    for attempts, low in ((1, 10), (2, 20), (3, 40), (4, 80), (9, 100)):
        delays = [d.retry_delay(attempts) for _ in range(50)]
        assert all(low <= x <= min(low, 100) + 10 for x in delays), (attempts, delays)
        assert max(delays) > min(delays)  # jitter


def test_attempts_are_capped_across_runs(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_a")
    add_customer(db, "cus_b")
    add_message(db, "m_fresh", "cus_a")
    add_message(db, "m_tired", "cus_b", attempts=4)  # four attempts spent in earlier runs
    smtp_sink.fail_next = 100

    # zero backoff: every retry is due again within the same run
    stats = run(*make(db, settings, smtp_sink, dispatch_max_attempts=5))

    assert (stats.sent, stats.failed) == (0, 2)
    fresh, tired = row(db, "m_fresh"), row(db, "m_tired")
    assert (fresh.status, fresh.attempts) == ("failed", 5)
    assert (tired.status, tired.attempts) == ("failed", 5)
    assert "451" in (fresh.last_error or "") and "gave up" in (fresh.last_error or "")
    assert stats.retried == 4
    assert smtp_sink.fail_next == 100 - 6


def test_a_dead_channel_puts_the_batch_back_untried(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    for i in range(8):
        add_customer(db, f"cus_{i}")
        add_message(db, f"m{i}", f"cus_{i}")
    smtp_sink.fail_next = 100

    stats = run(*make(db, settings, smtp_sink, retry_base_s=60))

    assert (stats.retried, stats.released, stats.sent, stats.failed) == (3, 5, 0, 0)
    assert smtp_sink.fail_next == 97  # only three attempts reached the server
    rows = [row(db, f"m{i}") for i in range(8)]
    assert {r.status for r in rows} == {"scheduled"}
    assert sorted(r.attempts for r in rows) == [0, 0, 0, 0, 0, 1, 1, 1]
    assert all(r.scheduled_at > T0 for r in rows)


def test_rate_limit_paces_a_channel(db: Database, settings: Settings, smtp_sink: SMTPSink) -> None:
    for i in range(6):
        add_customer(db, f"cus_{i}")
        add_message(db, f"m{i}", f"cus_{i}")
    dispatcher, adapter = make(db, settings, smtp_sink, channel_rate_limits={"email": 10.0})
    started = time.monotonic()
    stats = run(dispatcher, adapter)
    assert stats.sent == 6
    assert time.monotonic() - started >= 0.5  # 6 sends at 10/s: 5 gaps of 0.1 s


def test_permanent_failure_is_not_retried(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_a")
    add_message(db, "m1", "cus_a")
    smtp_sink.reply = "550 5.1.1 mailbox unavailable"

    stats = run(*make(db, settings, smtp_sink))

    assert (stats.failed, stats.retried) == (1, 0)
    r = row(db, "m1")
    assert (r.status, r.attempts) == ("failed", 1)
    assert "550" in (r.last_error or "")


def test_missing_adapter_and_unknown_channel_fail_clearly(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    add_customer(db, "cus_a", channel="sms")
    add_message(db, "m_sms", "cus_a", channel="sms")
    add_message(db, "m_fax", "cus_a", channel="fax")

    stats = run(*make(db, settings, smtp_sink))

    assert stats.failed == 2
    assert row(db, "m_sms").last_error == "no adapter configured for channel sms"
    assert row(db, "m_fax").last_error == "unknown channel 'fax'"


def test_expired_claims_are_recovered_and_live_ones_left_alone(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _expired_claims(db, settings, smtp_sink)


@pytest.mark.postgres
def test_expired_claims_are_recovered_and_live_ones_left_alone_on_postgres(
    pg_db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _expired_claims(pg_db, settings, smtp_sink)


def _expired_claims(db: Database, settings: Settings, smtp_sink: SMTPSink) -> None:
    """A dead worker's claim is taken over, a live worker's is not, and due rows go too (on
    PostgreSQL lapsed claims and scheduled rows are picked by separate statements)."""
    add_customer(db, "cus_a")
    now = utcnow()
    add_message(db, "m_crashed", "cus_a")
    add_message(db, "m_busy", "cus_a")
    add_message(db, "m_due", "cus_a")
    with db.session() as s:
        for mid, age in (("m_crashed", 600), ("m_busy", 10)):
            r = s.get(MessageRow, mid)
            assert r is not None
            r.status, r.claimed_by, r.claimed_at = (
                "sending",
                "dead-worker/x",
                now - timedelta(seconds=age),
            )

    # leases run on the wall clock (claimed_at above); the dispatch clock is fixed in the
    # person's daytime, so the test does not depend on the hour it runs at
    stats = run(*make(db, settings, smtp_sink, batch_size=1), as_of=T0)

    assert stats.claimed == 2 and stats.sent == 2
    assert row(db, "m_crashed").status == "sent" and row(db, "m_due").status == "sent"
    assert row(db, "m_busy").status == "sending"  # still leased by its live worker


class _SlowLeaseWatch:
    """An e-mail adapter that takes `delay` seconds a send and notes, at each send, how old
    the oldest lease of the rows in `sending` is."""

    channel = Channel.EMAIL

    def __init__(self, db: Database, delay: float) -> None:
        self.db, self.delay, self.ages = db, delay, list[float]()

    def send(self, msg: OutboundMessage) -> SendResult:
        time.sleep(self.delay)
        with self.db.engine.connect() as c:
            oldest = c.execute(
                select(func.min(MessageRow.claimed_at)).where(MessageRow.status == "sending")
            ).scalar_one()
        if oldest is not None:
            self.ages.append((utcnow() - oldest.replace(tzinfo=UTC)).total_seconds())
        return SendResult(provider_message_id=msg.id)

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_batch_longer_than_its_lease_keeps_renewing_it(
    backend: str, settings: Settings, request: pytest.FixtureRequest
) -> None:
    """The lease is renewed at least every third of it, not at every commit: a batch that
    takes longer than the lease never lets it lapse (another worker would take its rows)."""
    db: Database = request.getfixturevalue("db" if backend == "sqlite" else "pg_db")
    for i in range(12):
        add_customer(db, f"cus_{i:02d}")
        add_message(db, f"msg_{i:02d}", f"cus_{i:02d}")
    lease = 0.9
    tuned = settings.model_copy(
        update={
            "dispatch_lease_s": lease,
            "dispatch_concurrency": 1,
            "dispatch_commit_every": 1000,
            "dispatch_commit_interval_s": 1000.0,
        }
    )
    adapter = _SlowLeaseWatch(db, delay=0.1)
    started = time.monotonic()

    stats = Dispatcher(db, {Channel.EMAIL: adapter}, POLICY, tuned).run_once(as_of=T0)

    assert stats.sent == 12 and time.monotonic() - started > lease
    assert len(adapter.ages) == 12 and max(adapter.ages) < lease, adapter.ages


def test_a_commit_just_before_the_renewal_mark_does_not_delay_the_renewal(
    db: Database, settings: Settings
) -> None:
    """Commits every 0.7 s with a 3 s lease (a third: 1 s): the commit at 0.7 s renews
    nothing, so the next renewal must come at 1 s, not with the next timed commit at 1.4 s
    (which let a lease run to about half of it before the fix)."""
    for i in range(40):
        add_customer(db, f"cus_{i:02d}")
        add_message(db, f"msg_{i:02d}", f"cus_{i:02d}")
    tuned = settings.model_copy(
        update={
            "dispatch_lease_s": 3.0,
            "dispatch_concurrency": 1,
            "dispatch_commit_every": 1000,
            "dispatch_commit_interval_s": 0.7,
        }
    )
    adapter = _SlowLeaseWatch(db, delay=0.05)

    stats = Dispatcher(db, {Channel.EMAIL: adapter}, POLICY, tuned).run_once(as_of=T0)

    assert stats.sent == 40
    assert max(adapter.ages) < 1.25, adapter.ages  # ~1.05 s expected; ~1.45 s before the fix


def test_file_sink_dispatch(db: Database, settings: Settings) -> None:
    add_customer(db, "cus_a")
    add_customer(db, "cus_a_push", channel="push")
    add_message(db, "m_mail", "cus_a")
    add_message(db, "m_push", "cus_a_push", channel="push")
    adapters: dict[Channel, ChannelAdapter] = {
        Channel.EMAIL: FileSinkAdapter(settings.sent_dir),
        Channel.PUSH: FileSinkAdapter(settings.sent_dir, channel=Channel.PUSH),
    }
    stats = Dispatcher(db, adapters, POLICY, settings).run_once(as_of=T0)
    assert stats.sent == 2
    assert sorted(p.name for p in settings.sent_dir.iterdir()) == ["m_mail.eml", "m_push.json"]
    assert row(db, "m_push").provider_message_id == "m_push.json"


def _seed_outbox(
    db: Database, n: int, campaigns: tuple[str, ...], at: Callable[[int], datetime]
) -> None:
    """`n` consenting customers, each with one due e-mail per campaign, due at `at(i)`."""
    with db.session() as s:
        for i in range(n):
            s.add(CustomerRow(id=f"cus_{i:03d}", email=f"cus_{i:03d}@example.com", traits={}))
        s.flush()
        for i in range(n):
            cid = f"cus_{i:03d}"
            s.add(ConsentRow(customer_id=cid, channel="email", granted=True, source="x", at=T0))
            for campaign in campaigns:
                s.add(
                    MessageRow(
                        id=f"m_{campaign}_{i:03d}",
                        idempotency_key=f"{campaign}:{i}",
                        campaign_id=campaign,
                        step_id="s1",
                        customer_id=cid,
                        variant_id="v",
                        arm="A",
                        channel="email",
                        to_address=f"{cid}@example.com",
                        subject="Hi",
                        body="Hello",
                        scheduled_at=at(i),
                        status="scheduled",
                    )
                )


def _race(
    db: Database,
    settings: Settings,
    sink: SMTPSink,
    *,
    batch_size: int,
    policy: DispatchPolicy = POLICY,
) -> dict[str, DispatchStats]:
    """Two dispatchers, each with its own engine (like two processes), started together in two
    threads on the same outbox; returns their stats by worker id."""
    results: dict[str, DispatchStats] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        own_db = Database(db.url)
        dispatcher, adapter = make(
            own_db, settings, sink, policy, worker_id=name, batch_size=batch_size
        )
        try:
            with own_db.engine.connect():  # connect before the start line
                pass
            barrier.wait()
            results[name] = run(dispatcher, adapter)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own_db.dispose()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    return results


def _two_dispatchers_claim_disjoint_sets(db: Database, settings: Settings, sink: SMTPSink) -> None:
    """Two dispatchers, each with its own engine (like two processes), in two threads."""
    n = 300
    _seed_outbox(db, n, ("cmp_1",), lambda i: T0 - timedelta(seconds=i))
    results = _race(db, settings, sink, batch_size=15)

    ids = Counter(m["Message-ID"] for m in sink.messages)
    assert len(ids) == n and set(ids.values()) == {1}  # every message exactly once
    assert results["w1"].claimed + results["w2"].claimed == n
    assert results["w1"].sent + results["w2"].sent == n
    with db.session() as s:
        rows = s.scalars(select(MessageRow)).all()
        assert {r.status for r in rows} == {"sent"}
        owners = Counter((r.claimed_by or "").split("/")[0] for r in rows)
        batches = Counter(r.claimed_by for r in rows)
        delivered = s.scalar(select(func.count()).select_from(OutcomeRow))
    assert owners["w1"] > 0 and owners["w2"] > 0, owners
    assert max(batches.values()) <= 15  # every claim honoured the batch size
    assert delivered == n


def test_two_dispatchers_in_threads_claim_disjoint_sets(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _two_dispatchers_claim_disjoint_sets(db, settings, smtp_sink)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    """A throwaway PostgreSQL database (see `pg_url` in tests/conftest.py) with the schema."""
    database = Database(pg_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.mark.postgres
def test_two_dispatchers_on_postgres_claim_disjoint_sets(
    pg_db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _two_dispatchers_claim_disjoint_sets(pg_db, settings, smtp_sink)


def _two_dispatchers_two_campaigns_one_cap(
    db: Database, settings: Settings, sink: SMTPSink
) -> None:
    """Two campaigns reach the same people at once; two dispatchers (own engines, own threads)
    share the outbox. The cap (1 e-mail per 7 days) must hold per person across both."""
    n = 60
    # both campaigns' messages to a person are due at the same instant
    _seed_outbox(db, n, ("cmp_a", "cmp_b"), lambda i: T0 - timedelta(seconds=n - i))
    policy = POLICY.model_copy(update={"frequency_caps": {"email": (1, 7)}})
    sink.delay_s = 0.01  # long enough a run that both workers overlap
    results = _race(db, settings, sink, batch_size=3, policy=policy)

    per_person = Counter(str(m["To"]) for m in sink.messages)
    assert len(per_person) == n and set(per_person.values()) == {1}, per_person
    total = results["w1"].model_dump()["sent"] + results["w2"].model_dump()["sent"]
    capped = results["w1"].skipped.get("frequency_cap", 0) + results["w2"].skipped.get(
        "frequency_cap", 0
    )
    assert (total, capped) == (n, n)
    assert results["w1"].claimed > 0 and results["w2"].claimed > 0  # both really worked
    with db.session() as s:
        owners: dict[str, set[str]] = {}
        for r in s.scalars(select(MessageRow)):
            owners.setdefault(r.customer_id, set()).add((r.claimed_by or "").split("/")[0])
    split = sum(1 for workers in owners.values() if len(workers) == 2)
    assert split > 0  # the race was real: some people's two messages were in both workers


def test_frequency_cap_holds_with_two_dispatchers_over_two_campaigns(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _two_dispatchers_two_campaigns_one_cap(db, settings, smtp_sink)


@pytest.mark.postgres
def test_frequency_cap_holds_with_two_dispatchers_on_postgres(
    pg_db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _two_dispatchers_two_campaigns_one_cap(pg_db, settings, smtp_sink)


def _claims_honour_the_batch_size(db: Database, settings: Settings, sink: SMTPSink) -> None:
    for i in range(40):
        add_customer(db, f"cus_{i:02d}")
        for campaign in ("cmp_a", "cmp_b"):  # ties on scheduled_at, as two campaigns make
            add_message(db, f"m_{campaign}_{i:02d}", f"cus_{i:02d}", campaign=campaign)
    stats = run(*make(db, settings, sink, batch_size=3))
    assert stats.sent == 80
    with db.session() as s:
        batches = Counter(s.scalars(select(MessageRow.claimed_by)))
    assert max(batches.values()) <= 3 and len(batches) >= 27, batches


def test_claims_honour_the_batch_size(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _claims_honour_the_batch_size(db, settings, smtp_sink)


@pytest.mark.postgres
def test_claims_honour_the_batch_size_on_postgres(
    pg_db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _claims_honour_the_batch_size(pg_db, settings, smtp_sink)


def _one_refused_recipient(db: Database, settings: Settings, sink: SMTPSink) -> None:
    """30 e-mails over 8 concurrent (pipelined) connections; the server refuses one recipient
    for good and another for now: only those two are failed and retried, the rest sent, and
    every row's attempt counted once (the batch's send reservations are one statement)."""
    for i in range(30):
        add_customer(db, f"cus_{i:02d}")
        add_message(db, f"msg_{i:02d}", f"cus_{i:02d}")
    sink.refuse = {
        "cus_07@example.com": "550 5.1.1 no such user",
        "cus_19@example.com": "452 4.2.2 mailbox full",
    }
    tuned = settings.model_copy(update={"dispatch_concurrency": 8, "dispatch_commit_every": 7})

    stats = run(*make(db, tuned, sink, retry_base_s=60))

    assert (stats.sent, stats.failed, stats.retried) == (28, 1, 1)
    refused, full = row(db, "msg_07"), row(db, "msg_19")
    assert refused.status == "failed" and "550" in (refused.last_error or "")
    assert full.status == "scheduled" and "452" in (full.last_error or "")
    assert full.scheduled_at > T0 and full.claimed_by is None and full.sent_at is None
    with db.session() as s:
        rows = {r.id: r for r in s.scalars(select(MessageRow))}
        delivered = set(s.scalars(select(OutcomeRow.message_id)))
    sent = {mid for mid, r in rows.items() if r.status == "sent"}
    assert sent == set(rows) - {"msg_07", "msg_19"} and delivered == sent
    assert {r.attempts for r in rows.values()} == {1}
    assert all(rows[mid].provider_message_id == f"<{mid}@shop.example>" for mid in sent)
    assert sorted(str(m["Message-ID"]).strip("<>").split("@")[0] for m in sink.messages) == sorted(
        sent
    )
    assert all(sink.pipelined)


def test_one_refused_recipient_fails_only_that_message(
    db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _one_refused_recipient(db, settings, smtp_sink)


@pytest.mark.postgres
def test_one_refused_recipient_fails_only_that_message_on_postgres(
    pg_db: Database, settings: Settings, smtp_sink: SMTPSink
) -> None:
    _one_refused_recipient(pg_db, settings, smtp_sink)
