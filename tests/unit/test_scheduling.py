"""Send-time arithmetic: quiet hours, send hours and DST in real zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.delivery.scheduling import (
    defer_quiet_hours,
    in_quiet_hours,
    local_hour,
    period_start,
    resolve_tz,
    schedule_time,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")
TOKYO = ZoneInfo("Asia/Tokyo")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_resolve_tz_falls_back_on_unknown_or_malformed_names() -> None:
    assert resolve_tz("Asia/Tokyo", "UTC").key == "Asia/Tokyo"
    assert resolve_tz(None, "Europe/Berlin").key == "Europe/Berlin"
    assert resolve_tz("", "Europe/Berlin").key == "Europe/Berlin"
    assert resolve_tz("Mars/Olympus_Mons", "Europe/Berlin").key == "Europe/Berlin"
    assert resolve_tz("../../etc/passwd", "UTC").key == "UTC"


def test_quiet_window_wrapping_midnight() -> None:
    # 21 -> 8 in Tokyo (UTC+9, no DST): 21:00-07:59 local is quiet.
    assert in_quiet_hours(_local(TOKYO, 2024, 5, 1, 21, 0), TOKYO, 21, 8)
    assert in_quiet_hours(_local(TOKYO, 2024, 5, 1, 23, 59), TOKYO, 21, 8)
    assert in_quiet_hours(_local(TOKYO, 2024, 5, 2, 7, 59), TOKYO, 21, 8)
    assert not in_quiet_hours(_local(TOKYO, 2024, 5, 2, 8, 0), TOKYO, 21, 8)
    assert not in_quiet_hours(_local(TOKYO, 2024, 5, 1, 20, 59), TOKYO, 21, 8)
    # The same UTC instant is quiet in Tokyo and not in Berlin.
    at = _utc(2024, 5, 1, 13, 0)  # 22:00 Tokyo, 15:00 Berlin
    assert in_quiet_hours(at, TOKYO, 21, 8)
    assert not in_quiet_hours(at, BERLIN, 21, 8)


def test_non_wrapping_and_empty_windows() -> None:
    assert in_quiet_hours(_local(BERLIN, 2024, 5, 1, 13, 30), BERLIN, 12, 14)
    assert not in_quiet_hours(_local(BERLIN, 2024, 5, 1, 14, 0), BERLIN, 12, 14)
    for hour in range(24):
        assert not in_quiet_hours(_local(BERLIN, 2024, 5, 1, hour), BERLIN, 9, 9)


def test_defer_moves_to_end_of_window_in_local_time() -> None:
    # 23:30 Tokyo -> 08:00 Tokyo next day = 23:00 UTC.
    at = _local(TOKYO, 2024, 5, 1, 23, 30)
    assert defer_quiet_hours(at, TOKYO, 21, 8) == _utc(2024, 5, 1, 23, 0)
    # 03:00 Tokyo (early part of the window) -> 08:00 the same day.
    at = _local(TOKYO, 2024, 5, 2, 3, 0)
    assert defer_quiet_hours(at, TOKYO, 21, 8) == _utc(2024, 5, 1, 23, 0)
    # Allowed instants come back unchanged, in UTC.
    at = _local(TOKYO, 2024, 5, 2, 12, 0)
    out = defer_quiet_hours(at, TOKYO, 21, 8)
    assert out == at and out.tzinfo == UTC


def test_defer_across_new_york_spring_forward() -> None:
    # 2024-03-10: 02:00 EST jumps to 03:00 EDT. Quiet 22 -> 8.
    at = _local(NY, 2024, 3, 9, 23, 0)  # EST, 04:00 UTC on the 10th
    out = defer_quiet_hours(at, NY, 22, 8)
    assert out == _utc(2024, 3, 10, 12, 0)  # 08:00 EDT (UTC-4), not 13:00
    assert out.astimezone(NY).hour == 8
    # A window ending inside the gap (quiet 22 -> 2) ends at the first instant after it.
    at = _local(NY, 2024, 3, 10, 1, 30)
    out = defer_quiet_hours(at, NY, 22, 2)
    assert out == _utc(2024, 3, 10, 7, 0)
    assert out.astimezone(NY).hour == 3
    assert not in_quiet_hours(out, NY, 22, 2)


def test_defer_across_new_york_fall_back() -> None:
    # 2024-11-03: 02:00 EDT falls back to 01:00 EST. Quiet 22 -> 8 ends at 08:00 EST = 13:00 UTC.
    at = _local(NY, 2024, 11, 2, 23, 0)
    assert defer_quiet_hours(at, NY, 22, 8) == _utc(2024, 11, 3, 13, 0)
    # A window ending at the ambiguous hour 1 ends at its first occurrence (EDT).
    at = _local(NY, 2024, 11, 3, 0, 30)
    assert defer_quiet_hours(at, NY, 22, 1) == _utc(2024, 11, 3, 5, 0)


def test_berlin_dst_both_ways() -> None:
    # 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.
    assert defer_quiet_hours(_local(BERLIN, 2024, 3, 31, 1, 0), BERLIN, 21, 8) == _utc(
        2024, 3, 31, 6, 0
    )
    assert defer_quiet_hours(_local(BERLIN, 2024, 10, 27, 1, 0), BERLIN, 21, 8) == _utc(
        2024, 10, 27, 7, 0
    )


def test_schedule_time_same_day_next_day_and_quiet() -> None:
    start = _local(BERLIN, 2024, 6, 3, 8, 0)
    # 10:00 not passed yet -> same day 10:00 CEST = 08:00 UTC.
    assert schedule_time(
        start=start, delay_hours=0, tz=BERLIN, send_hour=10, quiet_start=21, quiet_end=8
    ) == _utc(2024, 6, 3, 8, 0)
    # After a 3 h delay, 10:00 has passed -> next day.
    assert schedule_time(
        start=start, delay_hours=3, tz=BERLIN, send_hour=10, quiet_start=21, quiet_end=8
    ) == _utc(2024, 6, 4, 8, 0)
    # Exactly at send hour counts as not passed.
    assert schedule_time(
        start=_local(BERLIN, 2024, 6, 3, 10, 0),
        delay_hours=0,
        tz=BERLIN,
        send_hour=10,
        quiet_start=21,
        quiet_end=8,
    ) == _utc(2024, 6, 3, 8, 0)
    # A send hour inside quiet hours is deferred to the end of the window.
    assert schedule_time(
        start=start, delay_hours=0, tz=BERLIN, send_hour=22, quiet_start=21, quiet_end=8
    ) == _utc(2024, 6, 4, 6, 0)


def test_schedule_time_in_sydney_and_over_its_dst_change() -> None:
    # Sydney: AEDT (UTC+11) until 2024-04-07 03:00, then AEST (UTC+10).
    start = _utc(2024, 4, 6, 0, 0)  # 11:00 AEDT on the 6th
    out = schedule_time(
        start=start, delay_hours=24, tz=SYDNEY, send_hour=9, quiet_start=21, quiet_end=8
    )
    assert out == _utc(2024, 4, 7, 23, 0)  # 09:00 AEST on the 8th
    assert out.astimezone(SYDNEY).hour == 9


def test_schedule_time_send_hour_in_spring_gap() -> None:
    # 02:00 does not exist in New York on 2024-03-10: the send goes at 03:00 EDT.
    out = schedule_time(
        start=_local(NY, 2024, 3, 10, 0, 0),
        delay_hours=0,
        tz=NY,
        send_hour=2,
        quiet_start=22,
        quiet_end=1,
    )
    assert out == _utc(2024, 3, 10, 7, 0)
    assert local_hour(out, NY) == 3


def test_naive_datetimes_and_bad_hours_are_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        in_quiet_hours(datetime(2024, 1, 1, 12), TOKYO, 21, 8)
    with pytest.raises(ValueError, match="0-23"):
        in_quiet_hours(_utc(2024, 1, 1, 12), TOKYO, 24, 8)
    with pytest.raises(ValueError, match="delay_hours"):
        schedule_time(
            start=_utc(2024, 1, 1),
            delay_hours=-1,
            tz=TOKYO,
            send_hour=9,
            quiet_start=21,
            quiet_end=8,
        )


_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Apia",
    "UTC",
]


@st.composite
def _windows(draw: st.DrawFn) -> tuple[int, int]:
    """Realistic quiet windows: 0-12 hours long, possibly wrapping midnight."""
    start = draw(st.integers(0, 23))
    length = draw(st.integers(0, 12))
    return start, (start + length) % 24


@settings(max_examples=400, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2010, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    delay=st.floats(min_value=0, max_value=24 * 30, allow_nan=False, allow_infinity=False),
    zone=st.sampled_from(_ZONES),
    send_hour=st.integers(0, 23),
    window=_windows(),
)
def test_schedule_time_properties(
    start: datetime, delay: float, zone: str, send_hour: int, window: tuple[int, int]
) -> None:
    tz = ZoneInfo(zone)
    quiet_start, quiet_end = window
    out = schedule_time(
        start=start,
        delay_hours=delay,
        tz=tz,
        send_hour=send_hour,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
    )
    earliest = start + timedelta(hours=delay)
    assert out.tzinfo == UTC
    assert out >= earliest
    assert out - earliest <= timedelta(hours=48)
    assert not in_quiet_hours(out, tz, quiet_start, quiet_end)


@settings(max_examples=400, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2010, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(_ZONES),
    window=_windows(),
)
def test_defer_properties(at: datetime, zone: str, window: tuple[int, int]) -> None:
    tz = ZoneInfo(zone)
    out = defer_quiet_hours(at, tz, *window)
    assert out >= at
    assert not in_quiet_hours(out, tz, *window)
    if not in_quiet_hours(at, tz, *window):
        assert out == at
    else:
        # It is the *first* allowed instant: just before it is still quiet.
        assert in_quiet_hours(out - timedelta(seconds=1), tz, *window)
        assert out - at <= timedelta(hours=14)


def test_period_start_is_the_latest_weekly_or_daily_start_in_local_time() -> None:
    ny = ZoneInfo("America/New_York")
    # Monday 2 Nov 2026 (EST, UTC-5): 9:00 local is 14:00 UTC.
    before = datetime(2026, 11, 2, 13, 59, tzinfo=UTC)
    at = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    weekly = {"every": "week", "weekday": 0, "hour": 9, "tz": ny}
    assert period_start(at, **weekly) == at  # type: ignore[arg-type]
    # A minute earlier it is still last week's period, which started under EDT (UTC-4).
    last_week = datetime(2026, 10, 26, 13, 0, tzinfo=UTC)
    assert period_start(before, **weekly) == last_week  # type: ignore[arg-type]
    assert period_start(before, every="day", weekday=0, hour=9, tz=ny) == datetime(
        2026, 11, 1, 14, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="every"):
        period_start(at, every="month", weekday=0, hour=9, tz=ny)
