"""E-mail over SMTP (smtplib): a pool of connections to one server, reused across sends, with
the envelope commands pipelined (RFC 2920) when the server offers it."""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import ssl
import threading

from core.models import Channel
from tools.delivery.channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from tools.delivery.channels.mime import email_bytes, message_id_header

_log = logging.getLogger(__name__)


class SMTPAdapter:
    """Sends e-mail through one SMTP server over a pool of reused connections. Thread-safe:
    up to `max_connections` sends go out at once, each on its own connection (a connection
    carries one SMTP transaction at a time); idle connections are kept open and reused.

    A send is MAIL, RCPT and DATA, then the message: with a server that offers PIPELINING
    (RFC 2920; Postfix and the big providers do) the three commands go in one write, so a
    message costs two round trips instead of four.

    SMTP 4xx replies and connection problems raise `TransientSendError`; 5xx replies and
    unbuildable messages raise `PermanentSendError`.
    """

    channel = Channel.EMAIL
    thread_safe = True
    """Concurrent sends are safe (one pooled connection each)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30,
        max_connections: int = 1,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.max_connections = max_connections
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)

    def send(self, msg: OutboundMessage) -> SendResult:
        """Send one e-mail; reconnects once if a reused connection turns out to be dead."""
        try:
            data = email_bytes(msg)
        except ValueError as exc:
            raise PermanentSendError(f"cannot build e-mail {msg.id}: {exc}") from exc
        with self._slots:
            for _ in range(2):
                conn = self._take()
                reused = conn is not None
                try:
                    if conn is None:
                        conn = self._open()
                    _transaction(conn, msg.from_email.strip(), msg.to.strip(), data)
                except smtplib.SMTPRecipientsRefused as exc:
                    self._give_back(conn)
                    code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
                    raise _classify(code, text, f"recipient {msg.to} refused") from exc
                except smtplib.SMTPResponseException as exc:
                    if exc.smtp_code == 421:  # the server is closing the connection
                        _drop(conn)
                    else:
                        self._give_back(conn)
                    raise _classify(exc.smtp_code, exc.smtp_error, "server refused") from exc
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    _drop(conn)
                    if reused:
                        _log.info(
                            "SMTP connection to %s:%s went stale; reconnecting",
                            self.host,
                            self.port,
                        )
                        continue
                    raise TransientSendError(
                        f"cannot talk to SMTP server {self.host}:{self.port}: {exc!r}"
                    ) from exc
                except BaseException:
                    _drop(conn)
                    raise
                self._give_back(conn)
                return SendResult(provider_message_id=message_id_header(msg))
            raise TransientSendError(f"SMTP server {self.host}:{self.port} keeps disconnecting")

    def close(self) -> None:
        """Say QUIT on the idle connections and close them."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
            _drop(conn)

    def _take(self) -> smtplib.SMTP | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give_back(self, conn: smtplib.SMTP | None) -> None:
        if conn is not None:
            with self._lock:
                self._idle.append(conn)

    def _open(self) -> smtplib.SMTP:
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password or "")
        except BaseException:
            conn.close()
            raise
        return conn


_DOT = re.compile(rb"^\.", re.MULTILINE)


def _transaction(conn: smtplib.SMTP, sender: str, to: str, data: bytes) -> None:
    """One message on an open connection, as `smtplib.SMTP.sendmail` sends it to one
    recipient (same errors: `SMTPSenderRefused`, `SMTPRecipientsRefused`, `SMTPDataError`,
    after which the connection is reset, or closed on a 421), but with MAIL, RCPT and DATA in
    one write when the server offers PIPELINING. `sender` and `to` are checked addresses."""
    size = f" SIZE={len(data)}" if conn.has_extn("size") else ""
    commands = (f"MAIL FROM:<{sender}>{size}\r\n", f"RCPT TO:<{to}>\r\n", "DATA\r\n")
    replies: list[tuple[int, bytes]] = []
    if conn.has_extn("pipelining"):
        conn.send("".join(commands))
        replies = [conn.getreply() for _ in commands]
    else:
        for command, ok in zip(commands, ((250,), (250, 251), (354,)), strict=True):
            conn.send(command)
            replies.append(conn.getreply())
            if replies[-1][0] not in ok:
                break
    (mail_code, mail_reply), *rest = replies
    rcpt_code, rcpt_reply = rest[0] if rest else (mail_code, mail_reply)
    data_code, data_reply = rest[1] if len(rest) > 1 else (0, b"")
    failed = mail_code != 250 or rcpt_code not in (250, 251) or data_code != 354
    if failed:
        if data_code == 354 or 421 in (mail_code, rcpt_code, data_code):
            conn.close()  # in the middle of DATA with nothing to send, or closing anyway
        else:
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                conn.rset()
        if mail_code != 250:
            raise smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
        if rcpt_code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
        raise smtplib.SMTPDataError(data_code, data_reply)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    conn.send(_DOT.sub(b"..", data) + b".\r\n")
    code, reply = conn.getreply()
    if code != 250:
        if code == 421:
            conn.close()
        else:
            with contextlib.suppress(smtplib.SMTPServerDisconnected):
                conn.rset()
        raise smtplib.SMTPDataError(code, reply)


def _drop(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _classify(code: int, text: bytes | str, what: str) -> Exception:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    message = f"{what}: SMTP {code} {reply}"
    if 400 <= code < 500:
        return TransientSendError(message)
    if 500 <= code < 600:
        return PermanentSendError(message)
    return TransientSendError(message)
