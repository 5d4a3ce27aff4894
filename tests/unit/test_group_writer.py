"""Group commit of the event API: concurrent requests share transactions, each gets its own
answer, a messageId sent twice is new for one request only, and a failed write fails every
request of its group."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from api.routes.events import GroupWriter
from core.events import StoredEvents
from core.models import Event

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _event(mid: str) -> Event:
    return Event(type="track", messageId=mid, userId="c1", event="Product Viewed", timestamp=T0)


class _Store:
    """An in-memory event store that is slow enough for requests to pile up behind a write."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.groups: list[int] = []
        self.fail = False
        self._release = threading.Event()

    def write(self, events: Sequence[Event]) -> StoredEvents:
        self._release.wait(5)
        if self.fail:
            raise RuntimeError("disk full")
        self.groups.append(len(events))
        new = [e for e in events if e.message_id not in self.seen]
        self.seen.update(e.message_id for e in new)
        return StoredEvents(events=new)

    def release(self) -> None:
        self._release.set()


def test_concurrent_requests_share_transactions_and_get_their_own_answers() -> None:
    store = _Store()
    writer = GroupWriter(store.write)

    async def run() -> list[set[str]]:
        calls = [writer.submit([_event(f"m{i}"), _event(f"m{i}b")]) for i in range(20)]
        calls.append(writer.submit([_event("m3")]))  # sent again by another request
        tasks = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.05)  # the first write is in progress; the rest queue behind it
        store.release()
        return list(await asyncio.gather(*tasks))

    answers = asyncio.run(run())
    assert answers[:20] == [{f"m{i}", f"m{i}b"} for i in range(20)]
    assert answers[20] == set()
    assert sum(store.groups) == 41 and len(store.groups) == 2  # 1 request, then 20 together


def test_a_failed_write_fails_every_request_of_its_group() -> None:
    store = _Store()
    store.fail = True
    store.release()
    writer = GroupWriter(store.write)

    async def run() -> list[object]:
        calls = [writer.submit([_event(f"m{i}")]) for i in range(3)]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    results = asyncio.run(run())
    assert all(isinstance(r, RuntimeError) and str(r) == "disk full" for r in results)
