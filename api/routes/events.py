"""Event ingestion in Segment's HTTP Tracking API shape: `POST /v1/identify`, `/v1/track`,
`/v1/page` and `/v1/batch`, authenticated by HTTP Basic with a source's write key as the user
name (no password), as Segment's libraries send it. Public: no login, the write key is the key.

Events are validated one by one (a bad event in a batch is reported by index, the good ones are
stored), bodies over 500 KB are refused with 413 before they are read in full, and concurrent
requests are written together: while one transaction is running, the events of the requests
that arrive meanwhile are gathered and go into the next one (group commit). A response is sent
only once its events are committed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import AppDeps
from core.db import utcnow
from core.events import EventError, StoredEvents, ingest_events, parse_events, source_for_key
from core.models import Event

router = APIRouter(tags=["events"])

MAX_BODY_BYTES = 500 * 1024
"""Largest request body accepted (Segment's batch limit)."""
MAX_GROUP_EVENTS = 20_000
"""Most events written in one transaction."""


class IngestResult(BaseModel):
    """The answer to an event call."""

    success: bool
    """True when every event of the call was stored or was a duplicate."""
    accepted: int = 0
    """Events newly stored."""
    duplicates: int = 0
    """Events whose `messageId` was already stored (nothing added)."""
    errors: list[EventError] = Field(default_factory=list)
    """Events refused, by index in the call, with the field and the reason."""


class GroupWriter:
    """Writes the events of concurrent requests in shared transactions (group commit).

    Requests queue their events; whoever holds the lock writes everything queued (up to
    `MAX_GROUP_EVENTS` per transaction, in a worker thread) until its own events are written.
    A request whose events a previous holder already wrote returns at once.
    """

    def __init__(self, write: Callable[[Sequence[Event]], StoredEvents]) -> None:
        self._write = write
        self._pending: list[tuple[list[Event], asyncio.Future[set[str]]]] = []
        self._lock = asyncio.Lock()

    async def submit(self, events: list[Event]) -> set[str]:
        """Store `events`; returns the `messageId`s newly stored (the rest were duplicates)."""
        future: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        async with self._lock:
            while not future.done():
                await self._flush()
        return future.result()

    async def _flush(self) -> None:
        group: list[tuple[list[Event], asyncio.Future[set[str]]]] = []
        size = 0
        while self._pending and (not group or size + len(self._pending[0][0]) <= MAX_GROUP_EVENTS):
            item = self._pending.pop(0)
            group.append(item)
            size += len(item[0])
        try:
            stored = await asyncio.to_thread(
                self._write, [e for events, _f in group for e in events]
            )
        except Exception as exc:
            for _events, future in group:
                future.set_exception(exc)
            return
        new = {e.message_id for e in stored.events}
        for events, future in group:
            mine = {e.message_id for e in events} & new
            new -= mine  # a messageId repeated by two requests counts once
            future.set_result(mine)


def _writer(request: Request, deps: AppDeps) -> GroupWriter:
    writer: GroupWriter | None = getattr(request.app.state, "event_writer", None)
    if writer is None:
        tracking = deps.kit.tracking
        writer = GroupWriter(lambda events: ingest_events(deps.db, events, tracking))
        request.app.state.event_writer = writer
    return writer


def _authenticate(request: Request, deps: AppDeps) -> None:
    """Check the write key (HTTP Basic user name); known keys are cached by their hash."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    key = ""
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise HTTPException(
            status_code=401,
            detail="send the source's write key as the HTTP Basic user name "
            "(create one with `autocmo sources add NAME`)",
            headers={"WWW-Authenticate": 'Basic realm="autocmo events"'},
        )
    known: set[str] | None = getattr(request.app.state, "write_keys", None)
    if known is None:
        known = request.app.state.write_keys = set()
    if key in known:
        return
    if source_for_key(deps.db, key) is None:
        raise HTTPException(status_code=401, detail="unknown write key")
    known.add(key)


async def _json_body(request: Request) -> Any:
    """The JSON body, refusing anything over `MAX_BODY_BYTES` before reading it all."""
    too_large = HTTPException(
        status_code=413,
        detail=f"request body is over {MAX_BODY_BYTES // 1024} KB; split the batch",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status_code=400, detail=f"body is not valid JSON: {exc}") from exc


async def _ingest(
    request: Request, deps: AppDeps, raw: list[Any], call: str | None
) -> JSONResponse:
    events, errors = parse_events(raw, received_at=utcnow(), call=call)
    stored: set[str] = set()
    if events:
        stored = await _writer(request, deps).submit(events)
    result = IngestResult(
        success=not errors,
        accepted=len(stored),
        duplicates=len(events) - len(stored),
        errors=errors,
    )
    status = 400 if errors and not events else 200
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


async def _single(request: Request, deps: AppDeps, call: str) -> JSONResponse:
    _authenticate(request, deps)
    body = await _json_body(request)
    return await _ingest(request, deps, [body], call)


@router.post("/v1/identify", response_model=IngestResult)
async def identify(request: Request, deps: AppDeps) -> JSONResponse:
    """Who a person is (`userId`, `traits`); with an `anonymousId` it links the two."""
    return await _single(request, deps, "identify")


@router.post("/v1/track", response_model=IngestResult)
async def track(request: Request, deps: AppDeps) -> JSONResponse:
    """What a person did (`event`, `properties`), e.g. `Order Completed` with `revenue`."""
    return await _single(request, deps, "track")


@router.post("/v1/page", response_model=IngestResult)
async def page(request: Request, deps: AppDeps) -> JSONResponse:
    """A page view (`name`, `properties`)."""
    return await _single(request, deps, "page")


@router.post("/v1/batch", response_model=IngestResult)
async def batch(request: Request, deps: AppDeps) -> JSONResponse:
    """Many events of any type in `{"batch": [...]}`; a top-level `context` applies to each."""
    _authenticate(request, deps)
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise HTTPException(status_code=400, detail='body must be {"batch": [event, ...]}')
    shared = body.get("context")
    raw: list[Any] = body["batch"]
    if isinstance(shared, dict):
        raw = [
            {**e, "context": {**shared, **e.get("context", {})}}
            if isinstance(e, dict) and isinstance(e.get("context", {}), dict)
            else e
            for e in raw
        ]
    return await _ingest(request, deps, raw, None)
