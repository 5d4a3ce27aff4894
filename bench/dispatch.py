"""Dispatcher throughput: fill an outbox in a temporary SQLite database, send half of it over
SMTP to an aiosmtpd sink and half as signed webhooks to a local HTTP sink (both on 127.0.0.1,
in a child process), and print messages per second. The last line is
`smtp_per_s=… webhook_per_s=…` (medians over `--runs`). Before it, the same sinks are measured
with a bare client re-sending one prebuilt message (`*_ceiling_per_s`): the dispatcher is
sink-bound when its rate approaches that ceiling.

    .venv/bin/python bench/dispatch.py --messages 50000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from sqlalchemy import insert  # noqa: E402

from core.db import ConsentRow, CustomerRow, Database, MessageRow  # noqa: E402
from core.models import Channel  # noqa: E402
from core.settings import Settings  # noqa: E402
from tools.delivery.channels.base import ChannelAdapter  # noqa: E402
from tools.delivery.channels.smtp import SMTPAdapter  # noqa: E402
from tools.delivery.channels.webhook import WebhookAdapter  # noqa: E402
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


def _sinks(conn: Any, secret: str) -> None:
    """Child process: an aiosmtpd sink and a signature-checking webhook sink that count."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from aiosmtpd.controller import Controller

    from tools.delivery.channels.webhook import verify_signature

    counts = {"smtp": 0, "webhook": 0, "bad_signature": 0}
    lock = threading.Lock()

    class SMTPHandler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with lock:
                counts["smtp"] += 1
            return "250 OK"

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
            data = json.dumps({"id": json.loads(raw)["id"]} if ok else {}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        smtp_port = int(s.getsockname()[1])
    controller = Controller(SMTPHandler(), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), HookHandler)
    http.daemon_threads = True
    threading.Thread(target=http.serve_forever, daemon=True).start()
    conn.send((smtp_port, http.server_address[1]))
    conn.recv()  # wait for "stop"
    http.shutdown()
    controller.stop()
    asyncio.set_event_loop(None)
    conn.send(dict(counts))


def _fill(db: Database, n_people: int) -> None:
    """One e-mail (due at T0-2h) and one webhook message (due at T0-1h) per person."""
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


def _run(
    args: argparse.Namespace, n_people: int, smtp_port: int, http_port: int
) -> dict[str, float]:
    """One benchmark run on a fresh outbox: messages per second per channel."""
    with tempfile.TemporaryDirectory(prefix="autocmo-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key=SECRET, _env_file=None)  # type: ignore[call-arg]
        settings.ensure_dirs()
        db = Database(settings.db_url)
        db.migrate()
        started = time.perf_counter()
        _fill(db, n_people)
        print(f"filled outbox: {2 * n_people} messages in {time.perf_counter() - started:.1f}s")

        smtp = SMTPAdapter("127.0.0.1", smtp_port, timeout=30)
        hook = WebhookAdapter(f"http://127.0.0.1:{http_port}/hook", SECRET, 30)
        adapters: dict[Channel, ChannelAdapter] = {Channel.EMAIL: smtp, Channel.WEBHOOK: hook}
        policy = DispatchPolicy(
            from_name="Bench Shop",
            from_email="shop@example.com",
            default_timezone="Europe/Berlin",
            quiet_start=0,
            quiet_end=0,
        )
        dispatcher = Dispatcher(db, adapters, policy, settings, batch_size=args.batch_size)
        rates: dict[str, float] = {}
        for name, as_of in (("smtp", T0 - timedelta(hours=2)), ("webhook", T0)):
            started = time.perf_counter()
            stats = dispatcher.run_once(as_of=as_of)
            elapsed = time.perf_counter() - started
            rates[name] = stats.sent / elapsed if elapsed else 0.0
            print(f"{name}: {stats.model_dump()} in {elapsed:.1f}s")
        smtp.close()
        hook.close()
        db.dispose()
    return rates


def _ceiling(smtp_port: int, http_port: int, n: int) -> dict[str, float]:
    """What the sinks take from a bare client re-sending one prebuilt message: the most any
    dispatcher could reach on this machine."""
    import json
    import smtplib

    import httpx

    from tools.delivery.channels.base import OutboundMessage
    from tools.delivery.channels.mime import build_email, email_bytes
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
    data = email_bytes(build_email(msg))
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
        "--ceiling", type=int, default=5000, help="messages for the bare-client sink ceiling"
    )
    args = parser.parse_args(argv)
    n_people = max(1, args.messages // 2)

    proc, parent, (smtp_port, http_port) = start_child(_sinks, SECRET)

    runs = [_run(args, n_people, smtp_port, http_port) for _ in range(max(1, args.runs))]
    ceiling = _ceiling(smtp_port, http_port, args.ceiling) if args.ceiling > 0 else {}

    parent.send("stop")
    counts = parent.recv()
    proc.join(10)
    print(f"sinks received: {counts}")
    expected = n_people * len(runs) + max(args.ceiling, 0)
    if counts["smtp"] != expected or counts["webhook"] != expected or counts["bad_signature"]:
        print("WARNING: sinks did not receive every message exactly once", file=sys.stderr)
    if ceiling:
        print(
            f"bare client into the same sinks: smtp_ceiling_per_s={ceiling['smtp']:.0f} "
            f"webhook_ceiling_per_s={ceiling['webhook']:.0f}"
        )
    smtp = statistics.median(r["smtp"] for r in runs)
    hook = statistics.median(r["webhook"] for r in runs)
    if len(runs) > 1:
        print("runs: " + ", ".join(f"{r['smtp']:.0f}/{r['webhook']:.0f}" for r in runs))
    print(f"smtp_per_s={smtp:.0f} webhook_per_s={hook:.0f}")


if __name__ == "__main__":
    main()
