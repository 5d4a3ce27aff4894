"""Real servers on 127.0.0.1 for channel tests: an SMTP sink (aiosmtpd), a signature-checking
webhook sink, and a Twilio-compatible SMS API. Each records what it receives. Also autocmo's
own API as a child process (`ApiServer`), for end-to-end tests and benchmarks.
"""

from __future__ import annotations

import base64
import email
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tools.delivery.channels.webhook import verify_signature


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPSink:
    """A real SMTP server on 127.0.0.1 that records what it receives.

    `reply` is what DATA answers (e.g. `451 …` or `550 …`); `fail_next` answers that many
    DATA commands with `451` and then accepts; `delay_s` slows every accepted DATA (to land a
    kill mid-batch); `refuse` maps a recipient address to what RCPT answers it (e.g. `550 …`).
    `messages` holds every accepted message, duplicates included;
    `unique_ids` counts them by `Message-ID`, the way a provider that de-duplicates would.
    With `pipelining` (the default, as Postfix and the big providers) EHLO offers PIPELINING
    (RFC 2920; aiosmtpd reads commands in order either way, but does not offer it itself);
    `pipelined` records, per MAIL command, whether the client had already sent what follows
    it (RCPT and DATA) without waiting for the reply.
    """

    def __init__(self, port: int | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.peers: list[tuple[str, int]] = []
        """The client connection (address, port) each accepted message came over."""
        self.reply = "250 OK"
        self.fail_next = 0
        self.delay_s = 0.0
        self.refuse: dict[str, str] = {}
        self.pipelining = True
        self.pipelined: list[bool] = []
        self._lock = threading.Lock()
        self.port = port or free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """aiosmtpd hook: EHLO's reply lines, with PIPELINING when offered."""
        session.host_name = hostname
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """aiosmtpd hook: note whether the commands after MAIL have already arrived."""
        buffered = getattr(getattr(server, "_reader", None), "_buffer", b"")
        with self._lock:
            self.pipelined.append(b"RCPT" in bytes(buffered).upper())
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """aiosmtpd hook: accept the recipient, or answer what `refuse` says for it."""
        refusal = self.refuse.get(address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: record the message or answer with the configured failure."""
        if self.delay_s:
            time.sleep(self.delay_s)  # blocks the sink's loop: one message at a time
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 4.3.0 try again later"
            if not self.reply.startswith("250"):
                return self.reply
            msg = email.message_from_bytes(envelope.content, policy=default_policy)
            assert isinstance(msg, EmailMessage)
            self.messages.append(msg)
            self.peers.append(tuple(session.peer))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    @property
    def ids(self) -> Counter[str]:
        """Accepted messages per `Message-ID` (a count above 1 is a duplicate delivery)."""
        with self._lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def start(self) -> SMTPSink:
        """Start serving (in a background thread)."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are part of the tests


class _HTTPSink:
    """Common start/stop of the HTTP test servers."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._stopped = False
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> Any:
        """Start serving (in a background thread)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    wbufsize = 1 << 16  # one write per reply (flushed after each request)

    def _reply(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class WebhookSink(_HTTPSink):
    """A real HTTP server that verifies `X-Autocmo-Signature` and records accepted bodies.

    `statuses` are answered in order before falling back to 200; `delay_s` slows every reply.
    A bad signature gets 401.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.delay_s = 0.0
        self.rejected = 0
        sink = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                raw = self._body()
                if sink.delay_s:
                    time.sleep(sink.delay_s)
                ok = verify_signature(
                    sink.secret,
                    self.headers.get("X-Autocmo-Timestamp", ""),
                    raw,
                    self.headers.get("X-Autocmo-Signature", ""),
                )
                if not ok:
                    sink.rejected += 1
                    self._reply(401, {"error": "bad signature"})
                    return
                if sink.statuses:
                    self._reply(sink.statuses.pop(0), {"error": "configured failure"})
                    return
                body = json.loads(raw)
                sink.received.append(body)
                sink.headers.append(dict(self.headers))
                self._reply(200, {"id": f"wh_{body['id']}"})

        super().__init__(Handler)
        self.url = f"http://127.0.0.1:{self.port}/hooks/autocmo"


class TwilioServer(_HTTPSink):
    """A Twilio-compatible Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`.

    Checks HTTP basic auth (account sid, auth token) and the form fields `To`, `From`, `Body`;
    answers 201 with a JSON message resource (`sid` `SM…`), or the next entry of `failures`
    (`(status, twilio_error_code)`), like Twilio's error JSON. Numbers in `invalid_numbers`
    get Twilio's 400 / 21211. `messages` holds the accepted form fields with their headers.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []
        self.failures: list[tuple[int, int]] = []
        self.invalid_numbers: set[str] = set()
        self.unauthorized = 0
        self._counter = 0
        server = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                form = {k: v[0] for k, v in urllib.parse.parse_qs(self._body().decode()).items()}
                path = f"/2010-04-01/Accounts/{server.account_sid}/Messages.json"
                if self.path != path:
                    self._error(404, 20404, f"The requested resource {self.path} was not found")
                    return
                expected = base64.b64encode(
                    f"{server.account_sid}:{server.auth_token}".encode()
                ).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    server.unauthorized += 1
                    self._error(401, 20003, "Authenticate")
                    return
                if server.failures:
                    status, code = server.failures.pop(0)
                    self._error(status, code, "configured failure")
                    return
                if not form.get("Body"):
                    self._error(400, 21602, "Message body is required.")
                    return
                if not form.get("From") and not form.get("MessagingServiceSid"):
                    self._error(400, 21603, "A 'From' phone number is required.")
                    return
                to = form.get("To", "")
                if to in server.invalid_numbers or not to.startswith("+"):
                    self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
                    return
                server._counter += 1
                sid = f"SM{server._counter:032x}"
                server.messages.append(form)
                server.headers.append(dict(self.headers))
                self._reply(
                    201,
                    {
                        "sid": sid,
                        "account_sid": server.account_sid,
                        "to": to,
                        "from": form.get("From"),
                        "body": form["Body"],
                        "status": "queued",
                        "num_segments": "1",
                    },
                )

            def _error(self, status: int, code: int, message: str) -> None:
                self._reply(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

        super().__init__(Handler)
        self.base_url = f"http://127.0.0.1:{self.port}"


class ApiServer:
    """`autocmo serve` (uvicorn) in a child process on a free port, with `env` added to this
    process's environment. `start` waits for `/healthz` and raises, with the child's output,
    if it exits or is not ready within `ready_timeout` seconds."""

    def __init__(self, env: dict[str, str], *, ready_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, **env}
        self._timeout = ready_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the child)

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def start(self, *args: str) -> ApiServer:
        """Start the child (`args` go to `autocmo serve`) and wait until it answers."""
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), *args],
            cwd=Path(__file__).resolve().parents[2],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"the API server exited with {self._proc.returncode}:\n{self._output()}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the API server was not ready within {self._timeout:.0f} s")

    @property
    def pid(self) -> int:
        """The child's process id (started)."""
        if self._proc is None:
            raise RuntimeError("the API server is not started")
        return self._proc.pid

    def check_alive(self) -> None:
        """Raise if the child has died (call after a load run)."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"the API server died with {self._proc.returncode}:\n{self._output()}"
            )

    def stop(self) -> None:
        """Stop the child (SIGTERM, then kill after 10 s)."""
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        self._log.close()


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
