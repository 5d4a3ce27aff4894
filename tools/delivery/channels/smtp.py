"""E-mail over SMTP (smtplib), one connection reused across sends."""

from __future__ import annotations

import contextlib
import logging
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
from tools.delivery.channels.mime import build_email, email_bytes

_log = logging.getLogger(__name__)


class SMTPAdapter:
    """Sends e-mail through one SMTP server. Thread-safe (sends are serialized on one connection).

    SMTP 4xx replies and connection problems raise `TransientSendError`; 5xx replies and
    unbuildable messages raise `PermanentSendError`.
    """

    channel = Channel.EMAIL

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    def send(self, msg: OutboundMessage) -> SendResult:
        """Send one e-mail; reconnects once if a reused connection turns out to be dead."""
        try:
            mime = build_email(msg)
            data = email_bytes(mime)
        except ValueError as exc:
            raise PermanentSendError(f"cannot build e-mail {msg.id}: {exc}") from exc
        with self._lock:
            for _ in range(2):
                reused = self._conn is not None
                try:
                    conn = self._conn if self._conn is not None else self._open()
                    conn.sendmail(msg.from_email.strip(), [msg.to.strip()], data)
                    return SendResult(provider_message_id=str(mime["Message-ID"]))
                except smtplib.SMTPRecipientsRefused as exc:
                    code, text = next(iter(exc.recipients.values()), (550, b"recipient refused"))
                    raise _classify(code, text, f"recipient {msg.to} refused") from exc
                except smtplib.SMTPResponseException as exc:
                    if exc.smtp_code == 421:  # the server is closing the connection
                        self._drop()
                    raise _classify(exc.smtp_code, exc.smtp_error, "server refused") from exc
                except (smtplib.SMTPServerDisconnected, OSError) as exc:
                    self._drop()
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
            raise TransientSendError(f"SMTP server {self.host}:{self.port} keeps disconnecting")

    def close(self) -> None:
        """Say QUIT and close the connection, if open."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._conn.quit()
                self._drop()

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
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
        self._conn = None


def _classify(code: int, text: bytes | str, what: str) -> Exception:
    reply = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    message = f"{what}: SMTP {code} {reply}"
    if 400 <= code < 500:
        return TransientSendError(message)
    if 500 <= code < 600:
        return PermanentSendError(message)
    return TransientSendError(message)
