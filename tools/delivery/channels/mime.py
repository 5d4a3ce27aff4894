"""E-mail MIME building, shared by the SMTP adapter and the file sink (same bytes in both)."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from email import quoprimime
from email.charset import QP, Charset
from email.header import Header
from email.policy import compat32
from email.utils import format_datetime, formataddr
from typing import Any

from core.db import utcnow
from tools.delivery.channels.base import OutboundMessage

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCT = ".,;:!?)]}"
_ADDR = re.compile(r"^[^@\s<>\x00-\x1f\x7f]+@[^@\s<>\x00-\x1f\x7f]+$")
"""An address as it can go in an SMTP envelope (`<…>`) and a header: no spaces, angle brackets
or control characters."""
_URL_ONLY = re.compile(r"^https?://[^\s<>\"']+$")
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
_UTF8.body_encoding = QP


class _WirePolicy(type(compat32)):  # type: ignore[misc]
    """compat32 with CRLF, plus a fast path: a short single-line ASCII header is written as
    is (what folding would produce anyway) instead of going through `email.header.Header`."""

    def _fold(self, name: str, value: Any, sanitize: bool) -> str:
        if (
            isinstance(value, str)
            and len(name) + len(value) + 2 <= 78
            and value.isascii()
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return str(super()._fold(name, value, sanitize))


_WIRE = _WirePolicy(linesep="\r\n")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._+-]{1,100}$")


def text_to_html(text: str) -> str:
    """Plain text to a minimal HTML document: escaped, blank-line paragraphs, clickable links."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p.strip()]
    parts = [
        f"<p>{_linkify(html.escape(p, quote=True)).replace(chr(10), '<br>' + chr(10))}</p>"
        for p in paragraphs
    ]
    body = "\n".join(parts)
    head = '<!doctype html>\n<html><head><meta charset="utf-8"></head><body>\n'
    return f"{head}{body}\n</body></html>\n"


def _linkify(escaped: str) -> str:
    def link(m: re.Match[str]) -> str:
        url = m.group(0)
        tail = ""
        while url and url[-1] in _TRAILING_PUNCT:
            tail = url[-1] + tail
            url = url[:-1]
        # `url` is already HTML-escaped (e.g. `&amp;`), which is what an attribute needs.
        return f'<a href="{url}">{url}</a>{tail}'

    return _URL.sub(link, escaped)


def message_id_header(msg: OutboundMessage) -> str:
    """A `Message-ID` derived only from the message id, so every re-send carries the same one."""
    local = msg.id if _SAFE_ID.match(msg.id) else hashlib.sha256(msg.id.encode()).hexdigest()[:32]
    domain = msg.from_email.rpartition("@")[2] or "autocmo.invalid"
    return f"<{local}@{domain}>"


def _one_line(value: str) -> str:
    """Collapse whitespace, including CR/LF, so a value cannot inject header lines."""
    return " ".join(value.split())


def _check_address(addr: str) -> str:
    addr = addr.strip()
    if not _ADDR.match(addr) or not addr.isascii():
        raise ValueError(f"not a valid e-mail address: {addr!r}")
    return addr


def _header(value: str) -> Any:
    """A single-line header value; non-ASCII becomes an RFC 2047 `Header` (typed `Any` because
    typeshed's `Message.__setitem__` accepts only `str`, while the runtime takes both)."""
    value = _one_line(value)
    return value if value.isascii() else Header(value, _UTF8)


_PART_HEAD = (
    'Content-Type: text/{}; charset="utf-8"\r\n'
    "MIME-Version: 1.0\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
)


def _qp(text: str) -> str:
    """`text` as UTF-8 in quoted-printable with CRLF line ends (what the e-mail package writes
    for a utf-8 text part)."""
    return quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), eol="\r\n")


def _field(name: str, value: Any) -> str:
    """One header line, folded as the wire policy folds it."""
    return str(_WIRE.fold_binary(name, value).decode("ascii"))


def email_bytes(msg: OutboundMessage) -> bytes:
    """The wire form (CRLF line ends) of the multipart/alternative (text + HTML) e-mail for
    `msg`, with all delivery headers.

    Written directly rather than through an `email.message.Message` (the e-mail package's
    tree and generator were the largest share of a dispatcher's CPU time per e-mail); byte for
    byte what the compat32 classes write for the same parts (tests/unit/test_mime.py checks
    that and parses it back).
    Every header value is single-line by construction. Raises `ValueError` when an address
    or the unsubscribe URL is unusable (the message cannot be sent as is).
    """
    to = _check_address(msg.to)
    sender = _check_address(msg.from_email)
    # A fixed boundary (no random one to check against the body): quoted-printable parts
    # encode every "=", so a line starting with "--=_" cannot occur in them.
    boundary = f"=_autocmo_{_boundary_id(msg.id)}"
    head = [
        f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
        "MIME-Version: 1.0\r\n",
        _field("Message-ID", message_id_header(msg)),
        _field("Date", _date()),
        _field("From", formataddr((_one_line(msg.from_name), sender), charset="utf-8")),
        _field("To", to),
        _field("Subject", _header(msg.subject or "")),
    ]
    if msg.unsubscribe_url:
        url = msg.unsubscribe_url.strip()
        if not _URL_ONLY.match(url):
            raise ValueError(f"unsubscribe URL is not a plain http(s) URL: {url!r}")
        head.append(_field("List-Unsubscribe", f"<{url}>"))
        head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    head.append(_field("X-Autocmo-Idempotency-Key", _header(msg.idempotency_key)))
    sep = f"\r\n--{boundary}\r\n"
    text = (
        "".join(head)
        + sep  # the blank line that ends the headers, then the first boundary
        + _PART_HEAD.format("plain")
        + _qp(msg.body)
        + sep
        + _PART_HEAD.format("html")
        + _qp(msg.html or text_to_html(msg.body))
        + f"\r\n--{boundary}--\r\n"
    )
    return text.encode("ascii")


_last_date: tuple[datetime, str] = (datetime.min, "")


def _date() -> str:
    """The `Date` header value of a message written now; formatted once per second (its
    resolution) rather than once per message."""
    global _last_date
    now = utcnow().replace(microsecond=0)
    at, text = _last_date
    if at != now:
        text = format_datetime(now)
        _last_date = (now, text)  # one assignment: safe for concurrent senders
    return text


def _boundary_id(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:24]
