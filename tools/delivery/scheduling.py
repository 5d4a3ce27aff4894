"""Send-time arithmetic in each person's timezone: send hours, quiet hours, DST.

Quiet hours are whole local hours `[start, end)`; a window may wrap midnight (21 → 8 means
21:00–07:59 local). `start == end` means no quiet hours. All results are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def resolve_tz(name: str | None, default: str) -> ZoneInfo:
    """The IANA zone `name`, or `default` when `name` is empty, unknown or malformed."""
    if name:
        try:
            return ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return ZoneInfo(default)


def local_hour(at: datetime, tz: ZoneInfo) -> int:
    """The hour of the day (0–23) at instant `at` in `tz`."""
    return _aware(at).astimezone(tz).hour


def in_quiet_hours(at: datetime, tz: ZoneInfo, start: int, end: int) -> bool:
    """True if instant `at` falls in the local quiet window `[start, end)` (may wrap midnight)."""
    _check_hour(start, "quiet start")
    _check_hour(end, "quiet end")
    hour = local_hour(at, tz)
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def defer_quiet_hours(at: datetime, tz: ZoneInfo, start: int, end: int) -> datetime:
    """The first instant at or after `at` outside quiet hours, in UTC (`at` itself if allowed).

    The window ends at `end:00` local wall time; when that wall time does not exist (spring
    forward) the first existing instant after the gap is used.
    """
    at = _aware(at)
    if not in_quiet_hours(at, tz, start, end):
        return at.astimezone(UTC)
    local_day = at.astimezone(tz).date()
    for days in range(8):
        candidate = _wall(local_day + timedelta(days=days), end, tz)
        if candidate > at and not in_quiet_hours(candidate, tz, start, end):
            return candidate
    raise ValueError(f"no allowed hour found in {tz.key} for quiet hours {start}-{end}")


def schedule_time(
    *,
    start: datetime,
    delay_hours: float,
    tz: ZoneInfo,
    send_hour: int,
    quiet_start: int,
    quiet_end: int,
) -> datetime:
    """When a step goes out: the first `send_hour:00` local at or after `start + delay_hours`
    (that day if not yet passed, else the next), then moved out of quiet hours. Aware UTC."""
    _check_hour(send_hour, "send hour")
    if delay_hours < 0:
        raise ValueError(f"delay_hours must be >= 0, got {delay_hours}")
    earliest = _aware(start) + timedelta(hours=delay_hours)
    local_day = earliest.astimezone(tz).date()
    candidate = _wall(local_day, send_hour, tz)
    if candidate < earliest:
        candidate = _wall(local_day + timedelta(days=1), send_hour, tz)
    return defer_quiet_hours(candidate, tz, quiet_start, quiet_end)


def _wall(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The instant of `hour:00` local on `day`, in UTC. A nonexistent wall time (DST gap) maps,
    by PEP 495's fold=0 rule, to the instant after the gap; an ambiguous one (fall back) to its
    first occurrence."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime; pass an aware datetime (UTC)")
    return at


def _check_hour(hour: int, what: str) -> None:
    if not 0 <= hour <= 23:
        raise ValueError(f"{what} must be an hour 0-23, got {hour}")


def period_start(at: datetime, *, every: str, weekday: int, hour: int, tz: ZoneInfo) -> datetime:
    """The latest start of a recurring period at or before `at`: `hour:00` local in `tz` every
    day (`every="day"`) or on `weekday` (0 = Monday) every week. Aware UTC."""
    _check_hour(hour, "hour")
    if every not in ("day", "week"):
        raise ValueError(f"every must be 'day' or 'week', got {every!r}")
    at = _aware(at)
    day = at.astimezone(tz).date()
    for back in range(15):
        d = day - timedelta(days=back)
        if every == "week" and d.weekday() != weekday:
            continue
        start = _wall(d, hour, tz)
        if start <= at:
            return start
    raise ValueError(f"no period start found before {at.isoformat()}")  # pragma: no cover
