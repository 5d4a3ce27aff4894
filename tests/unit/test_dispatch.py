"""Property tests of the dispatcher over random schedules, timezones, quiet hours and caps.

Each example fills an outbox in an in-memory SQLite database and drives the dispatcher
event by event (each run's clock is the earliest scheduled time still pending, so deferrals
land exactly on quiet-hour boundaries, DST transitions included). A recording adapter stands
in for the channel. Properties: nothing is sent in quiet hours in the person's zone (or the
brand default), no rolling window ever holds more sends than the cap, nothing is sent before
its time, and every message ends sent or capped: a deferred message is never dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from core.db import ConsentRow, CustomerRow, Database, MessageRow
from core.models import Channel
from core.settings import Settings
from tools.delivery.channels.base import ChannelAdapter, OutboundMessage, SendResult
from tools.delivery.dispatch import Dispatcher, DispatchPolicy
from tools.delivery.scheduling import in_quiet_hours, resolve_tz

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",
    "Asia/Tokyo",
    "UTC",
    None,  # unknown: the brand default applies
    "Not/AZone",  # malformed: the brand default applies
]
STARTS = [
    datetime(2026, 3, 7, tzinfo=UTC),  # a day before the US spring-forward
    datetime(2026, 3, 28, tzinfo=UTC),  # the EU spring-forward
    datetime(2026, 4, 4, tzinfo=UTC),  # Lord Howe / Chatham fall back
    datetime(2026, 10, 24, tzinfo=UTC),  # the EU fall-back
    datetime(2026, 6, 15, tzinfo=UTC),
]
DEFAULT_TZ = "America/New_York"


class _Recorder:
    """Accepts everything, remembers what it got."""

    channel = Channel.EMAIL

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, msg: OutboundMessage) -> SendResult:
        self.sent.append(msg.id)
        return SendResult(provider_message_id=msg.id)

    def close(self) -> None:
        pass


@st.composite
def _worlds(draw: st.DrawFn) -> dict[str, object]:
    people = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=4))
    messages = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(people) - 1),
                st.integers(0, 6 * 24 * 60),  # minutes after the start
                st.sampled_from(["cmp_a", "cmp_b"]),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return {
        "people": people,
        "messages": messages,
        "start": draw(st.sampled_from(STARTS)) + timedelta(minutes=draw(st.integers(0, 1439))),
        "quiet": (draw(st.integers(0, 23)), draw(st.integers(0, 23))),
        "cap": (draw(st.integers(1, 3)), draw(st.integers(1, 4))),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=_worlds())
def test_quiet_hours_and_caps_hold_and_nothing_is_dropped(world: dict[str, object]) -> None:
    people: list[str | None] = world["people"]  # type: ignore[assignment]
    messages: list[tuple[int, int, str]] = world["messages"]  # type: ignore[assignment]
    start: datetime = world["start"]  # type: ignore[assignment]
    quiet_start, quiet_end = world["quiet"]  # type: ignore[misc]
    limit, days = world["cap"]  # type: ignore[misc]

    db = Database("sqlite://")
    db.migrate()
    with db.engine.begin() as conn:
        conn.execute(
            insert(CustomerRow),
            [
                {"id": f"c{i}", "email": f"c{i}@x.example", "timezone": tz, "traits": {}}
                for i, tz in enumerate(people)
            ],
        )
        conn.execute(
            insert(ConsentRow),
            [
                {
                    "customer_id": f"c{i}",
                    "channel": "email",
                    "granted": True,
                    "source": "x",
                    "at": start,
                }
                for i in range(len(people))
            ],
        )
        conn.execute(
            insert(MessageRow),
            [
                {
                    "id": f"m{k}",
                    "idempotency_key": f"k{k}",
                    "campaign_id": campaign,
                    "step_id": "s1",
                    "customer_id": f"c{who}",
                    "variant_id": "v",
                    "arm": "A",
                    "channel": "email",
                    "to_address": f"c{who}@x.example",
                    "subject": "s",
                    "body": "b",
                    "scheduled_at": start + timedelta(minutes=minutes),
                    "status": "scheduled",
                }
                for k, (who, minutes, campaign) in enumerate(messages)
            ],
        )
    policy = DispatchPolicy(
        from_name="Shop",
        from_email="shop@x.example",
        default_timezone=DEFAULT_TZ,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        frequency_caps={"email": (limit, days)},
    )
    tuned = Settings(data_dir=Path("unused"), _env_file=None)  # type: ignore[call-arg]
    adapter = _Recorder()
    adapters: dict[Channel, ChannelAdapter] = {Channel.EMAIL: adapter}
    dispatcher = Dispatcher(db, adapters, policy, tuned, batch_size=4)
    planned = {f"m{k}": start + timedelta(minutes=m) for k, (_, m, _) in enumerate(messages)}

    runs = 0
    while True:
        with db.session() as s:
            nxt = s.scalar(
                select(MessageRow.scheduled_at)
                .where(MessageRow.status == "scheduled")
                .order_by(MessageRow.scheduled_at)
                .limit(1)
            )
        if nxt is None:
            break
        dispatcher.run_once(as_of=nxt)
        runs += 1
        assert runs <= 3 * len(messages) + 5, "the dispatcher keeps deferring"

    with db.session() as s:
        rows = s.scalars(select(MessageRow)).all()
    db.dispose()
    assert sorted(adapter.sent) == sorted(r.id for r in rows if r.status == "sent")
    sends: dict[str, list[datetime]] = {}
    for r in rows:
        # never dropped: a deferred message is eventually sent, or capped
        assert (r.status, r.skip_reason) in {("sent", None), ("skipped", "frequency_cap")}, r
        if r.status != "sent":
            continue
        assert r.sent_at is not None and r.sent_at >= planned[r.id]
        tz = resolve_tz(people[int(r.customer_id[1:])], DEFAULT_TZ)
        assert not in_quiet_hours(r.sent_at, tz, quiet_start, quiet_end), (
            r.id,
            r.sent_at.astimezone(tz),
        )
        sends.setdefault(r.customer_id, []).append(r.sent_at)
    for cid, times in sends.items():
        times.sort()
        for t in times:  # every rolling window [t - days, t] ending at a send
            in_window = sum(1 for u in times if t - timedelta(days=days) <= u <= t)
            assert in_window <= limit, (cid, t, times)
    capped = {r.customer_id for r in rows if r.skip_reason == "frequency_cap"}
    assert all(len(sends.get(cid, [])) >= limit for cid in capped)
