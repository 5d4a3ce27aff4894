"""A lean SMTP sink for bench/dispatch.py: it stands for the remote provider (a Postfix on
another host), so it should cost the 2 cores this bench shares as little as possible.

It speaks real SMTP over TCP (EHLO/HELO, MAIL, RCPT, DATA with dot-terminated content, RSET,
NOOP, QUIT; commands out of order get 503) and offers PIPELINING (RFC 2920): the replies to
the commands of one read go out in one write, as Postfix's smtpd does (it flushes when its
input is drained), where aiosmtpd writes each reply on its own. It hands every accepted
message's content to a callback, so the bench still counts each one by its `Message-ID`.

It checks no addresses, keeps no queue and does no dot-unstuffing (the callback only reads
headers): a sink for benchmarks, not a server. The tests keep aiosmtpd
(`tests.support.servers.SMTPSink`).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable

_EHLO = b"250-bench-sink\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 8BITMIME\r\n"
_MAX_LINE = 4096


class _Session(asyncio.Protocol):
    """One client connection."""

    def __init__(self, on_message: Callable[[bytes], None]) -> None:
        self._on_message = on_message
        self._buf = bytearray()
        self._scanned = 0  # in DATA: where to resume looking for the end of the content
        self._state = "idle"  # idle → mail → rcpt → data → idle
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buf += data
        replies: list[bytes] = []
        close = False
        while not close:
            if self._state == "data":
                if self._buf.startswith(b".\r\n"):
                    content, cut = b"", 3
                else:
                    end = self._buf.find(b"\r\n.\r\n", self._scanned)
                    if end < 0:
                        self._scanned = max(len(self._buf) - 4, 0)
                        break
                    content, cut = bytes(self._buf[: end + 2]), end + 5
                del self._buf[:cut]
                self._scanned = 0
                self._state = "idle"
                self._on_message(content)
                replies.append(b"250 2.0.0 OK: queued\r\n")
                continue
            nl = self._buf.find(b"\r\n")
            if nl < 0:
                if len(self._buf) > _MAX_LINE:
                    replies.append(b"500 5.5.2 line too long\r\n")
                    close = True
                break
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 2]
            reply, close = self._command(line)
            replies.append(reply)
        if replies:
            self._transport.write(b"".join(replies))
        if close:
            self._transport.close()

    def _command(self, line: bytes) -> tuple[bytes, bool]:
        """The reply to one command line, and whether to close the connection after it."""
        verb = line[:4].upper()
        if verb == b"EHLO":
            self._state = "idle"
            return _EHLO, False
        if verb == b"HELO":
            self._state = "idle"
            return b"250 bench-sink\r\n", False
        if verb == b"MAIL":
            if line[4:11].upper() != b" FROM:<":
                return b"501 5.5.4 syntax: MAIL FROM:<address>\r\n", False
            if self._state != "idle":
                return b"503 5.5.1 nested MAIL command\r\n", False
            self._state = "mail"
            return b"250 2.1.0 OK\r\n", False
        if verb == b"RCPT":
            if line[4:9].upper() != b" TO:<":
                return b"501 5.5.4 syntax: RCPT TO:<address>\r\n", False
            if self._state not in ("mail", "rcpt"):
                return b"503 5.5.1 need MAIL before RCPT\r\n", False
            self._state = "rcpt"
            return b"250 2.1.5 OK\r\n", False
        if verb == b"DATA":
            if self._state != "rcpt":
                return b"503 5.5.1 need RCPT before DATA\r\n", False
            self._state = "data"
            return b"354 End data with <CR><LF>.<CR><LF>\r\n", False
        if verb == b"RSET":
            self._state = "idle"
            return b"250 2.0.0 OK\r\n", False
        if verb == b"NOOP":
            return b"250 2.0.0 OK\r\n", False
        if verb == b"QUIT":
            return b"221 2.0.0 Bye\r\n", True
        return b"500 5.5.2 command not recognized\r\n", False


class LeanSMTPSink:
    """The sink on 127.0.0.1, its event loop on a daemon thread; `on_message(content)` runs on
    that thread for every accepted message."""

    def __init__(self, on_message: Callable[[bytes], None]) -> None:
        self._on_message = on_message
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def start(self) -> LeanSMTPSink:
        """Listen on a free port (`self.port`) and serve until `stop()`."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(lambda: _Session(self._on_message), sock=sock),
            self._loop,
        ).result(10)
        return self

    def stop(self) -> None:
        """Close the server and its loop."""
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
