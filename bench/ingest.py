"""Event ingestion throughput: the real server (`autocmo serve`, uvicorn, in a child process on a
temporary SQLite database) under a keep-alive HTTP/1.1 load from this process.

1. single: `--connections` clients each POST one `track` event per request to `/v1/track`
   for `--seconds`; requests per second and the latency of each request (p50, p95).
2. batch: `--batch-connections` clients POST `/v1/batch` with `--batch-size` events each;
   events stored per second.

Every event has a new `messageId`, and the stored count is checked against what was accepted.
The load generator shares the machine with the server, so the figures are a floor. With
`--repeat N` both phases run N times against the same server and the figures are medians (each
round is printed, with the load average). On a shared machine the rates follow the load; the
server's own CPU time per request and per event (from /proc) does much less, so it is printed
too, as the figure to compare changes by. The last line is `single_rps=… batch_events_per_s=…
p95_ms=…` (p95 of the single-event requests).

    .venv/bin/python bench/ingest.py --seconds 5 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from core.db import Database, EventRow
from core.events import create_source
from core.settings import Settings
from tests.support.servers import ApiServer


def _request(path: str, auth: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _event(i: int) -> dict[str, object]:
    return {
        "type": "track",
        "messageId": f"bench-{i}",
        "userId": f"cus_{i % 5000:05d}",
        "event": "Product Viewed" if i % 10 else "Order Completed",
        "properties": {"product_id": f"p{i % 300}", "category": "outdoor", "revenue": 42.0},
        "context": {"ip": "203.0.113.9", "userAgent": "bench/1.0"},
        "timestamp": "2026-11-02T12:00:00Z",
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its direct children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _client(
    port: int,
    make: object,
    until: float,
    counter: list[int],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            n = counter[0]
            counter[0] += 1
            payload = make(n)  # type: ignore[operator]
            t = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - t)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def _load(
    port: int, make: object, connections: int, seconds: float
) -> tuple[int, list[float], list[int]]:
    counter = [0]
    latencies: list[float] = []
    errors: list[int] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(_client(port, make, until, counter, latencies, errors) for _ in range(connections))
    )
    return len(latencies), latencies, errors


def main() -> int:
    """Run both phases and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    ap.add_argument("--connections", type=int, default=32, help="single-event clients")
    ap.add_argument("--batch-connections", type=int, default=4, help="batch clients")
    ap.add_argument("--batch-size", type=int, default=500, help="events per batch request")
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; figures are their medians")
    args = ap.parse_args()
    rounds: list[tuple[float, float, float, float, float]] = []
    accepted = 0

    with tempfile.TemporaryDirectory(prefix="autocmo-bench-ingest-") as tmp:
        settings = Settings(data_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        settings.ensure_dirs()
        db = Database(settings.db_url)
        db.migrate()
        _source, key = create_source(db, "bench")
        auth = base64.b64encode(f"{key}:".encode()).decode()
        server = ApiServer(
            {
                "AUTOCMO_DATA_DIR": tmp,
                "HF_HUB_OFFLINE": "1",
                "DATABASE_URL": settings.db_url,
                "AUTOCMO_SECRET_KEY": secrets.token_urlsafe(32),  # serve refuses the default
            },
            ready_timeout=240,
        ).start("--no-access-log", "--workers", str(args.workers))
        try:
            offset = 0

            def one(n: int) -> bytes:
                return _request("/v1/track", auth, json.dumps(_event(offset + n)).encode())

            def many(n: int) -> bytes:
                first = offset + 10_000_000 + n * args.batch_size
                batch = [_event(first + j) for j in range(args.batch_size)]
                return _request("/v1/batch", auth, json.dumps({"batch": batch}).encode())

            pid = server.pid
            for r in range(args.repeat):
                offset = r * 100_000_000
                t, cpu = time.perf_counter(), _cpu_seconds(pid)
                n1, lat1, err1 = asyncio.run(
                    _load(server.port, one, args.connections, args.seconds)
                )
                single_s = time.perf_counter() - t
                cpu1 = (_cpu_seconds(pid) - cpu) / max(n1, 1) * 1e6
                server.check_alive()
                t, cpu = time.perf_counter(), _cpu_seconds(pid)
                n2, lat2, err2 = asyncio.run(
                    _load(server.port, many, args.batch_connections, args.seconds)
                )
                batch_s = time.perf_counter() - t
                cpu2 = (_cpu_seconds(pid) - cpu) / max(n2 * args.batch_size, 1) * 1e6
                server.check_alive()
                if err1 or err2:
                    print(
                        f"non-200 answers: single {err1[:5]} ({len(err1)}), "
                        f"batch {err2[:5]} ({len(err2)})"
                    )
                    return 1
                accepted += n1 + n2 * args.batch_size
                lat1.sort()
                p50 = statistics.median(lat1) * 1000
                p95 = lat1[int(0.95 * (len(lat1) - 1))] * 1000
                bp95 = sorted(lat2)[int(0.95 * (len(lat2) - 1))] * 1000
                rounds.append((n1 / single_s, n2 * args.batch_size / batch_s, p95, cpu1, cpu2))
                print(
                    f"round {r + 1}: single {n1} requests in {single_s:.1f} s over "
                    f"{args.connections} connections, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
                    f"server CPU {cpu1:.0f} µs per request; batch {n2} × {args.batch_size} "
                    f"events in {batch_s:.1f} s over {args.batch_connections} connections, "
                    f"p95 {bp95:.0f} ms per request, server CPU {cpu2:.1f} µs per event; "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
        finally:
            server.stop()
        with db.session() as s:
            stored = int(s.scalar(select(func.count()).select_from(EventRow)) or 0)
        db.dispose()

    if stored != accepted:
        print(f"stored {stored} events but {accepted} were accepted")
        return 1
    print(f"stored events: {stored} (all accepted events, none twice)")
    single, batched, p95, cpu1, cpu2 = (statistics.median(x) for x in zip(*rounds, strict=True))
    # server CPU time is what the code costs, whatever else the machine is doing: 1e6 / µs is
    # the rate one core would sustain if the server had it to itself (the client excluded)
    print(
        f"server CPU (medians): {cpu1:.0f} µs per single-event request "
        f"(~{1e6 / max(cpu1, 1e-9):.0f} req/s per core), {cpu2:.1f} µs per batched event "
        f"(~{1e6 / max(cpu2, 1e-9):.0f} events/s per core)"
    )
    print(f"single_rps={single:.0f} batch_events_per_s={batched:.0f} p95_ms={p95:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
