"""Dispatcher throughput: fill an outbox, send half of it over SMTP to an aiosmtpd sink and half
as signed webhooks to a local HTTP sink (both on 127.0.0.1, in a child process) with N
dispatcher processes, and print messages per second. The sink counts what it receives by
`Message-ID` / `Idempotency-Key`, so duplicates are counted, not assumed away.

The last line is `smtp_per_s=… webhook_per_s=… duplicates=… smtp_cpu_us=… webhook_cpu_us=…`
(medians over `--runs`, for the last `--workers` / `--concurrency` values; `*_cpu_us` is the
dispatcher processes' CPU time per message sent, which depends much less on what else the
machine runs than the rates do); with several values there is one `workers=N concurrency=C …`
line each. Before it, the
same sinks are measured with a bare client re-sending one prebuilt message over one connection
(`*_ceiling_per_s`). A dispatcher or sink process that dies ends the bench with exit status 1.

    .venv/bin/python bench/dispatch.py --messages 50000 --runs 3
    .venv/bin/python bench/dispatch.py --messages 20000 --workers 1,2,4 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

With `--database-url` each run gets its own new database on that server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from core.db import ConsentRow, CustomerRow, Database, MessageRow  # noqa: E402
from core.models import Channel  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.delivery.channels.registry import build_adapters, close_adapters  # noqa: E402
from tools.delivery.dispatch import Dispatcher, DispatchPolicy  # noqa: E402

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECRET = "bench-secret"


class ChildFailed(SystemExit):
    """A benchmark's helper process did not start; carries what it printed."""


def _guarded(conn: Any, target: Any, *args: Any) -> None:
    """Child process entry: run `target(conn, *args)`; on failure, send the traceback home."""
    import traceback

    try:
        target(conn, *args)
    except BaseException:
        conn.send(("failed", traceback.format_exc()))
        raise


def start_child(target: Any, *args: Any, timeout: float = 60.0) -> tuple[Any, Any, Any]:
    """Start `target(conn, *args)` in a spawned process and wait for its first message (its
    readiness); `ChildFailed` (exit status 1, with the child's traceback) if it dies, reports
    a failure or says nothing within `timeout` seconds. Returns (process, connection, message).
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_guarded, args=(child, target, *args), daemon=True)
    proc.start()
    child.close()  # the parent keeps only its end: a dead child then reads as EOF
    deadline = time.monotonic() + timeout
    while not parent.poll(0.1):
        if not proc.is_alive() or time.monotonic() > deadline:
            proc.kill()
            proc.join(5)
            why = "did not start" if proc.exitcode is not None else "timed out"
            raise ChildFailed(
                f"benchmark helper {target.__name__} {why} (exit code {proc.exitcode})"
            )
    try:
        message = parent.recv()
    except EOFError:
        message = ("failed", "it closed its pipe without a word")
    if isinstance(message, tuple) and message and message[0] == "failed":
        proc.join(5)
        raise ChildFailed(f"benchmark helper {target.__name__} failed to start:\n{message[1]}")
    return proc, parent, message


def _sinks(conn: Any, secret: str, smtp_sink: str) -> None:
    """Child process: an SMTP sink (`lean`: bench.lean_smtp; `aiosmtpd`: as the tests' sink)
    and a signature-checking webhook sink, counting what they receive."""
    import json
    import re
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tools.delivery.channels.webhook import verify_signature

    counts = {"smtp": 0, "webhook": 0, "bad_signature": 0}
    seen: Counter[bytes] = Counter()
    lock = threading.Lock()
    message_id = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def received(content: bytes) -> None:
        found = message_id.search(content)
        with lock:
            counts["smtp"] += 1
            seen[b"smtp:" + (found.group(1) if found else b"?")] += 1

    class HookHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes
        wbufsize = 1 << 16  # one write per reply (flushed after each request)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ok = verify_signature(
                secret,
                self.headers.get("X-Autocmo-Timestamp", ""),
                raw,
                self.headers.get("X-Autocmo-Signature", ""),
            )
            with lock:
                counts["webhook" if ok else "bad_signature"] += 1
                if ok:
                    seen[b"hook:" + self.headers.get("Idempotency-Key", "?").encode()] += 1
            data = json.dumps({"id": json.loads(raw)["id"]} if ok else {}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    stop_smtp, smtp_port = (_lean_smtp if smtp_sink == "lean" else _aiosmtpd)(received)
    http = ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    conn.send((smtp_port, http.server_address[1]))
    while conn.recv() == "report":  # counts since the last report; anything else stops
        with lock:
            report = dict(counts, duplicates=sum(n - 1 for n in seen.values()))
            counts.update(smtp=0, webhook=0, bad_signature=0)
            seen.clear()
        conn.send(report)
    http.shutdown()
    stop_smtp()


def _lean_smtp(received: Callable[[bytes], None]) -> tuple[Callable[[], None], int]:
    from bench.lean_smtp import LeanSMTPSink

    sink = LeanSMTPSink(received).start()
    return sink.stop, sink.port


def _aiosmtpd(received: Callable[[bytes], None]) -> tuple[Callable[[], None], int]:
    import socket

    from aiosmtpd.controller import Controller

    class SMTPHandler:
        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            """Offer PIPELINING (RFC 2920), as Postfix and the big providers do (aiosmtpd reads
            commands in order, pipelined or not, but does not say so itself)."""
            session.host_name = hostname
            return [*responses[:-1], "250-PIPELINING", responses[-1]]

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received(envelope.content)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    controller = Controller(SMTPHandler(), hostname="127.0.0.1", port=port)
    controller.start()

    def stop() -> None:
        controller.stop()
        asyncio.set_event_loop(None)

    return stop, port


def _fill(db: Database, n_people: int) -> None:
    """One e-mail (due at T0-2h) and one webhook message (due at T0-1h) per person; on
    PostgreSQL then ANALYZE, as autovacuum would soon after a real activation (the planner
    otherwise takes the freshly filled tables for nearly empty)."""
    chunk = 5000
    for lo in range(0, n_people, chunk):
        ids = range(lo, min(lo + chunk, n_people))
        with db.engine.begin() as conn:
            conn.execute(
                insert(CustomerRow),
                [
                    {
                        "id": f"c{i}",
                        "email": f"c{i}@example.com",
                        "timezone": "Europe/Berlin",
                        "locale": "en-US",
                        "traits": {},
                        "created_at": T0,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(ConsentRow),
                [
                    {
                        "customer_id": f"c{i}",
                        "channel": ch,
                        "granted": True,
                        "source": "bench",
                        "at": T0,
                    }
                    for i in ids
                    for ch in ("email", "webhook")
                ],
            )
            conn.execute(
                insert(MessageRow),
                [
                    {
                        "id": f"m{ch[0]}{i}",
                        "idempotency_key": f"bench:{ch}:{i}",
                        "campaign_id": "cmp_bench",
                        "step_id": "s1",
                        "customer_id": f"c{i}",
                        "variant_id": "v1",
                        "arm": "A",
                        "channel": ch,
                        "to_address": f"c{i}@example.com",
                        "subject": "Fresh picks for you",
                        "body": f"Hi c{i},\n\nNew arrivals: https://shop.example/new?c={i}\n\n"
                        "You get this because you subscribed. Unsubscribe any time.",
                        "condition": "always",
                        "scheduled_at": T0 - timedelta(hours=hours),
                        "status": "scheduled",
                        "attempts": 0,
                        "created_at": T0,
                    }
                    for i in ids
                    for ch, hours in (("email", 2), ("webhook", 1))
                ],
            )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def _dispatcher(conn: Any, settings: Settings, worker_id: str, batch_size: int) -> None:
    """Child process: one dispatcher; runs `run_once(as_of)` for every `as_of` it is sent."""
    db = Database(settings.db_url)
    adapters = build_adapters(settings)
    policy = DispatchPolicy(
        from_name="Bench Shop",
        from_email="shop@example.com",
        default_timezone="Europe/Berlin",
        quiet_start=0,
        quiet_end=0,
    )
    dispatcher = Dispatcher(
        db, adapters, policy, settings, worker_id=worker_id, batch_size=batch_size
    )
    conn.send("ready")
    while (as_of := conn.recv()) is not None:
        cpu = time.process_time()
        stats = dispatcher.run_once(as_of=as_of).model_dump()
        conn.send(dict(stats, cpu_s=time.process_time() - cpu))
    close_adapters(adapters)
    db.dispose()


def _gather(procs: list[tuple[Any, Any]], sink: Any) -> list[Any]:
    """One reply from each child; `ChildFailed` if a child or the sink process dies first."""
    replies: dict[int, Any] = {}
    while len(replies) < len(procs):
        for k, (proc, conn) in enumerate(procs):
            if k in replies:
                continue
            if conn.poll(0.05):
                try:
                    reply = conn.recv()
                except EOFError:  # it died without a word
                    proc.join(5)
                    raise ChildFailed(f"dispatcher {k} died (exit code {proc.exitcode})") from None
                if isinstance(reply, tuple) and reply and reply[0] == "failed":
                    raise ChildFailed(f"dispatcher {k} failed:\n{reply[1]}")
                replies[k] = reply
            elif not proc.is_alive():
                raise ChildFailed(f"dispatcher {k} died (exit code {proc.exitcode})")
        if not sink.is_alive():
            raise ChildFailed(f"the sink process died (exit code {sink.exitcode})")
    return [replies[k] for k in range(len(procs))]


@contextmanager
def _database(url: str | None, tmp: Path) -> Iterator[str]:
    """A new empty database: a SQLite file in `tmp`, or a fresh one on the `url` server."""
    if url is None:
        yield f"sqlite:///{(tmp / 'bench.db').as_posix()}"
        return
    import psycopg

    name = f"bench_dispatch_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


_PROC = Path("/proc")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PG_SERVER = ("checkpointer", "background writer", "walwriter", "autovacuum launcher")


def _cpu_of(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far; (0, 0) if it is gone."""
    try:
        fields = (_PROC / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def _busy_s() -> float:
    """CPU seconds the whole machine has been busy since boot, all cores together."""
    cpu = [int(v) for v in (_PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(cpu) - cpu[3] - cpu[4]) / _TICK  # all but idle and iowait


def _processes(db: Database, procs: list[tuple[Any, Any]], sink: Any) -> dict[str, list[int]]:
    """The processes that do the bench's work, by party. On PostgreSQL on this machine: the
    backends of the run's database, and the server's own processes (which also serve anyone
    else using the server)."""
    parties = {"dispatchers": [p.pid for p, _ in procs], "sink": [sink.pid], "bench": [os.getpid()]}
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT pid, datname IS NOT DISTINCT FROM current_database() "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "OR backend_type = ANY(:server)"
                ),
                {"server": list(_PG_SERVER)},
            ).all()
        local = [(pid, ours) for pid, ours in rows if _is_postgres(pid)]  # not a remote server
        parties["database"] = [pid for pid, ours in local if ours]
        parties["db_server"] = [pid for pid, ours in local if not ours]
    return parties


def _is_postgres(pid: int) -> bool:
    try:
        return (_PROC / str(pid) / "comm").read_text().startswith("postgres")
    except OSError:
        return False


def _cpu_snapshot(parties: dict[str, list[int]]) -> dict[int, tuple[float, float]]:
    return {pid: _cpu_of(pid) for pids in parties.values() for pid in pids}


def _cpu_split(
    parties: dict[str, list[int]], before: dict[int, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """(user, system) CPU seconds per party since `before` (a process started since: all of
    its time)."""
    out = {}
    for party, pids in parties.items():
        now = [(_cpu_of(pid), before.get(pid, (0.0, 0.0))) for pid in pids]
        out[party] = (sum(a[0] - b[0] for a, b in now), sum(a[1] - b[1] for a, b in now))
    return out


def _split_line(split: dict[str, tuple[float, float]], sent: int, busy: float, wall: float) -> str:
    """Where the CPU time of a phase went, per e-mail, and what it means for this machine."""

    def us(party: str) -> float:
        return 1e6 * sum(split.get(party, (0.0, 0.0))) / max(sent, 1)

    def sys_share(party: str) -> str:
        user, system = split.get(party, (0.0, 0.0))
        return f"{100 * system / (user + system):.0f}%" if user + system else "-"

    parts = [
        f"dispatchers {us('dispatchers'):.0f} (system {sys_share('dispatchers')})",
        f"sink {us('sink'):.0f} (system {sys_share('sink')})",
    ]
    if "database" in split:
        parts.append(
            f"PostgreSQL {us('database'):.0f} (this database's backends) + "
            f"{us('db_server'):.0f} (server processes)"
        )
    parts.append(f"bench {us('bench'):.0f}")
    ours = sum(us(p) for p in split) - us("bench")
    cores = os.cpu_count() or 1
    others = busy - sum(sum(v) for v in split.values())
    return (
        f"  CPU µs per message: {', '.join(parts)}; together {ours:.0f} µs, so {cores} "
        f"core(s) carry at most {cores * 1e6 / max(ours, 1):.0f}/s. The machine was busy "
        f"{busy / wall:.2f} of {cores} cores, {max(others, 0) / wall:.2f} of them on other "
        "processes"
    )


def _run(
    args: argparse.Namespace,
    workers: int,
    concurrency: int,
    n_people: int,
    ports: tuple[int, int],
    sink: tuple[Any, Any],
) -> dict[str, float]:
    """One run on a fresh outbox with `workers` dispatcher processes: messages per second per
    channel, and the duplicates the sink counted."""
    smtp_port, http_port = ports
    with (
        tempfile.TemporaryDirectory(prefix="autocmo-bench-") as tmp,
        _database(args.database_url, Path(tmp)) as url,
    ):
        settings = Settings(  # type: ignore[call-arg]
            data_dir=Path(tmp),
            database_url=url,
            secret_key=SECRET,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            webhook_url=f"http://127.0.0.1:{http_port}/hook",
            dispatch_concurrency=concurrency,
            _env_file=None,
        )
        settings.ensure_dirs()
        db = Database(settings.db_url)
        db.migrate()
        started = time.perf_counter()
        _fill(db, n_people)
        print(f"filled outbox: {2 * n_people} messages in {time.perf_counter() - started:.1f}s")
        procs = [
            start_child(_dispatcher, settings, f"bench-{k}", args.batch_size)[:2]
            for k in range(workers)
        ]
        rates: dict[str, float] = {}
        counts: Counter[str] = Counter()
        sink[1].send("report")  # from here on the sink's counts and CPU time are this run's
        sink[1].recv()
        try:
            for name, as_of in (("smtp", T0 - timedelta(hours=2)), ("webhook", T0)):
                parties = _processes(db, procs, sink[0])
                cpu_before, busy_before = _cpu_snapshot(parties), _busy_s()
                started = time.perf_counter()
                for _, conn in procs:
                    conn.send(as_of)
                stats = _gather(procs, sink[0])
                elapsed = time.perf_counter() - started
                busy = _busy_s() - busy_before
                split = _cpu_split(_processes(db, procs, sink[0]), cpu_before)
                sent = sum(s["sent"] for s in stats)
                cpu_s = sum(s["cpu_s"] for s in stats)
                rates[name] = sent / elapsed if elapsed else 0.0
                rates[f"{name}_cpu_us"] = 1e6 * cpu_s / max(sent, 1)
                rates[f"{name}_per_worker_cpu_s"] = sent / cpu_s if cpu_s else 0.0
                rates[f"{name}_sink_cpu_us"] = 1e6 * sum(split["sink"]) / max(sent, 1)
                rates[f"{name}_db_cpu_us"] = 1e6 * sum(split.get("database", (0, 0))) / max(sent, 1)
                sink[1].send("report")
                counts.update(sink[1].recv())
                per = ", ".join(str(s["sent"]) for s in stats)
                print(
                    f"{name}: {workers} dispatcher(s) sent {sent} ({per}) in {elapsed:.1f}s; "
                    f"CPU time per message in the dispatcher(s): {rates[f'{name}_cpu_us']:.0f} µs "
                    f"({rates[f'{name}_per_worker_cpu_s']:.0f} messages per dispatcher CPU second)"
                )
                print(_split_line(split, sent, busy, elapsed))
            for proc, conn in procs:
                conn.send(None)
                proc.join(30)
        finally:
            for proc, _ in procs:
                if proc.is_alive():
                    proc.kill()
        with db.engine.connect() as c:
            statuses = dict(
                c.execute(select(MessageRow.status, func.count()).group_by(MessageRow.status)).all()
            )
        db.dispose()
    print(f"outbox: {statuses}; sinks received: {dict(counts)}")
    if statuses != {"sent": 2 * n_people} or counts["bad_signature"]:
        raise ChildFailed("not every message was sent and recorded once: see above")
    if counts["smtp"] - counts["duplicates"] < n_people:
        raise ChildFailed("the sinks are missing messages: see above")
    rates["duplicates"] = counts["duplicates"]
    return rates


def _ceiling(smtp_port: int, http_port: int, n: int) -> dict[str, float]:
    """What the sinks take from a bare client re-sending one prebuilt message: the most any
    dispatcher could reach on this machine."""
    import json
    import smtplib

    import httpx

    from tools.delivery.channels.base import OutboundMessage
    from tools.delivery.channels.mime import email_bytes
    from tools.delivery.channels.webhook import sign

    msg = OutboundMessage(
        id="ceiling",
        idempotency_key="ceiling",
        channel=Channel.EMAIL,
        to="c1@example.com",
        subject="Fresh picks for you",
        body="Hi c1,\n\nNew arrivals: https://shop.example/new?c=1\n\nUnsubscribe any time.",
        from_name="Bench Shop",
        from_email="shop@example.com",
        unsubscribe_url="https://shop.example/u/token",
        campaign_id="cmp_bench",
        customer_id="c1",
    )
    data = email_bytes(msg)
    conn = smtplib.SMTP("127.0.0.1", smtp_port, timeout=30)
    started = time.perf_counter()
    for _ in range(n):
        conn.sendmail("shop@example.com", ["c1@example.com"], data)
    smtp_rate = n / (time.perf_counter() - started)
    conn.quit()
    body = json.dumps(msg.model_dump(mode="json")).encode()
    with httpx.Client() as client:
        started = time.perf_counter()
        for _ in range(n):
            ts = str(int(time.time()))
            client.post(
                f"http://127.0.0.1:{http_port}/hook",
                content=body,
                headers={"X-Autocmo-Timestamp": ts, "X-Autocmo-Signature": sign(SECRET, ts, body)},
            )
        hook_rate = n / (time.perf_counter() - started)
    return {"smtp": smtp_rate, "webhook": hook_rate}


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures (medians over `--runs`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50000, help="outbox size (half each)")
    parser.add_argument("--batch-size", type=int, default=500, help="dispatcher claim batch")
    parser.add_argument("--runs", type=int, default=1, help="repeat on a fresh outbox; median")
    parser.add_argument(
        "--workers", default="1", help="dispatcher processes, a comma-separated list (1,2,4)"
    )
    parser.add_argument(
        "--concurrency",
        default=str(Settings.model_fields["dispatch_concurrency"].default),
        help="sends in flight per dispatcher (AUTOCMO_DISPATCH_CONCURRENCY), a comma-separated "
        "list (1,8): the settings take turns within each run, so noise hits them alike",
    )
    parser.add_argument(
        "--sink",
        choices=("lean", "aiosmtpd"),
        default="lean",
        help="the SMTP sink: bench/lean_smtp.py (default; one write per batch of pipelined "
        "replies, as Postfix) or aiosmtpd (the tests' sink, and the bench's until 2026-11-29)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (postgresql+psycopg://…/postgres); default: SQLite files",
    )
    parser.add_argument(
        "--ceiling", type=int, default=5000, help="messages for the bare-client sink ceiling"
    )
    args = parser.parse_args(argv)
    n_people = max(1, args.messages // 2)
    workers, concurrency = (
        _numbers(parser, name, value)
        for name, value in (("--workers", args.workers), ("--concurrency", args.concurrency))
    )

    proc, parent, (smtp_port, http_port) = start_child(_sinks, SECRET, args.sink)
    try:
        results: dict[tuple[int, int], list[dict[str, float]]] = {}
        for _ in range(max(1, args.runs)):
            for w in workers:
                for c in concurrency:
                    results.setdefault((w, c), []).append(
                        _run(args, w, c, n_people, (smtp_port, http_port), (proc, parent))
                    )
        ceiling = _ceiling(smtp_port, http_port, args.ceiling) if args.ceiling > 0 else {}
        parent.send("stop")
        proc.join(10)
    finally:
        if proc.is_alive():
            proc.kill()
    if ceiling:
        print(
            f"bare client into the same sinks: smtp_ceiling_per_s={ceiling['smtp']:.0f} "
            f"webhook_ceiling_per_s={ceiling['webhook']:.0f}"
        )
    line = ""
    for (w, c), runs in results.items():
        smtp = statistics.median(r["smtp"] for r in runs)
        hook = statistics.median(r["webhook"] for r in runs)
        smtp_cpu, hook_cpu, per_cpu_s, sink_cpu, db_cpu = (
            statistics.median(r[k] for r in runs)
            for k in (
                "smtp_cpu_us",
                "webhook_cpu_us",
                "smtp_per_worker_cpu_s",
                "smtp_sink_cpu_us",
                "smtp_db_cpu_us",
            )
        )
        dups = sum(int(r["duplicates"]) for r in runs)
        if len(runs) > 1:
            print(
                f"workers={w} concurrency={c} runs: "
                + ", ".join(f"{r['smtp']:.0f}/{r['webhook']:.0f}" for r in runs)
            )
        line = (
            f"smtp_per_s={smtp:.0f} webhook_per_s={hook:.0f} duplicates={dups} "
            f"smtp_cpu_us={smtp_cpu:.0f} webhook_cpu_us={hook_cpu:.0f} "
            f"smtp_per_worker_cpu_s={per_cpu_s:.0f} smtp_sink_cpu_us={sink_cpu:.0f} "
            f"smtp_db_cpu_us={db_cpu:.0f}"
        )
        if len(results) > 1:
            print(f"workers={w} concurrency={c} {line}")
    print(line)


def _numbers(parser: argparse.ArgumentParser, name: str, value: str) -> list[int]:
    """A comma-separated list of numbers >= 1, or a usage error."""
    try:
        numbers = [int(v) for v in value.split(",")]
    except ValueError:
        parser.error(f"{name} must be a comma-separated list of numbers: {value!r}")
    if not numbers or min(numbers) < 1:
        parser.error(f"{name} must be >= 1")
    return numbers


if __name__ == "__main__":
    main()
