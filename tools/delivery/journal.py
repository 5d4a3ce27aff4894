"""The send journal: a per-dispatcher file, appended just before and just after each provider
call, emptied when the results are committed to the database.

Each record is written to the operating system before the dispatcher goes on, which survives
any crash of the process (kill -9, out of memory, a lost database). With `fsync` the record of
an accepted message is also forced to disk before the next send, which survives a crash of the
machine, at the cost of one disk flush per message (about 4 ms on the development machine,
which caps a dispatcher near 250 messages/s). The "about to send" record is never flushed: it
only names the message in flight, which is sent again either way.

It closes the duplicate window of a crash (kill -9, power loss, a database that went away)
between a provider accepting a message and the commit that records it. Whoever dispatches
next on the same data directory reconciles the journals that no live dispatcher holds: a
message journalled as `sent` is recorded as sent and not sent again; one journalled only as
`sending` was in flight and is ambiguous (it will be sent again, with the same `Message-ID` /
`Idempotency-Key`): at most as many as the dispatcher had sends in flight
(`dispatch_concurrency`). Records are appended by the dispatcher's send threads (one `write`
each, atomic with `O_APPEND`); the journal is emptied only when no send is in flight. A live
dispatcher holds an exclusive `flock` on its journal, which the kernel releases when the
process dies.

Journals live on the dispatcher's host: dispatchers on several hosts reconcile their own.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_SUFFIX = ".journal"


@dataclass(frozen=True, slots=True)
class JournalledSend:
    """A message a dead dispatcher's provider accepted, per its journal."""

    message_id: str
    """The outbox row."""
    provider_message_id: str
    """What the provider returned."""
    at: datetime
    """When it was accepted (the dispatcher's clock)."""


@dataclass(frozen=True, slots=True)
class Orphan:
    """What one dead dispatcher's journal says."""

    path: Path
    """The journal file (removed once its contents are recorded)."""
    sent: list[JournalledSend]
    """Messages the provider accepted."""
    in_flight: list[str]
    """Messages handed to the provider with no answer journalled (at most the dead
    dispatcher's concurrency)."""


class SendJournal:
    """The open journal of one live dispatcher."""

    def __init__(self, directory: Path, worker_id: str, *, fsync: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / (re.sub(r"[^A-Za-z0-9._-]", "_", worker_id) + _SUFFIX)
        self._fsync = fsync
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            raise RuntimeError(
                f"send journal {self.path} is held by another live dispatcher"
            ) from exc
        self._dirty = os.fstat(self._fd).st_size > 0

    def sending(self, message_id: str) -> None:
        """Journal that `message_id` is about to be handed to the provider."""
        self._append({"op": "sending", "id": message_id}, durable=False)

    def sent(self, message_id: str, provider_message_id: str, at: datetime) -> None:
        """Journal that the provider accepted `message_id`."""
        self._append(
            {"op": "sent", "id": message_id, "pid": provider_message_id, "at": at.isoformat()},
            durable=True,
        )

    def committed(self) -> None:
        """Everything journalled so far is recorded in the database: empty the journal."""
        if self._dirty:
            os.ftruncate(self._fd, 0)
            self._dirty = False

    def close(self) -> None:
        """Release the journal; it is removed when empty, else left for reconciliation."""
        if not self._dirty:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock

    def _append(self, record: dict[str, str], *, durable: bool) -> None:
        os.write(self._fd, (json.dumps(record) + "\n").encode())
        if durable and self._fsync:
            os.fsync(self._fd)
        self._dirty = True


def orphans(directory: Path) -> Iterator[Orphan]:
    """The journals in `directory` no live dispatcher holds, each locked while the caller
    handles it; call `settle(orphan)` once its sends are recorded."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*" + _SUFFIX)):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # settled by someone else meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live dispatcher's
            if not path.exists():
                continue
            yield _read(path, fd)
        finally:
            os.close(fd)


def settle(orphan: Orphan) -> None:
    """Remove a reconciled journal."""
    orphan.path.unlink(missing_ok=True)


def _read(path: Path, fd: int) -> Orphan:
    with os.fdopen(os.dup(fd), "r", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    sent: dict[str, JournalledSend] = {}
    started: list[str] = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a record torn by the crash: its message is the one in flight
        if rec.get("op") == "sending":
            started.append(rec["id"])
        elif rec.get("op") == "sent":
            sent[rec["id"]] = JournalledSend(
                rec["id"], rec["pid"], datetime.fromisoformat(rec["at"])
            )
    return Orphan(path, list(sent.values()), [m for m in started if m not in sent])
