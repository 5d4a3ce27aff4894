"""E-mail MIME building, shared by the SMTP adapter and the file sink (same bytes in both)."""

from __future__ import annotations

import hashlib
import html
import re
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr
from typing import Any

from core.db import utcnow
from tools.delivery.channels.base import OutboundMessage

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCT = ".,;:!?)]}"
_ADDR = re.compile(r"^[^@\s]+@[^@\s]+$")
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


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part.set_payload(text, _UTF8)  # quoted-printable: readable in .eml files
    return part


def build_email(msg: OutboundMessage) -> Message:
    """The multipart/alternative (text + HTML) e-mail for `msg`, with all delivery headers.

    Built with the compat32 classes (several times faster than `EmailMessage`); every header
    value is single-line by construction. Raises `ValueError` when an address or the unsubscribe
    URL is unusable (the message cannot be sent as is).
    """
    to = _check_address(msg.to)
    sender = _check_address(msg.from_email)
    # A fixed boundary (no random one to check against the body): quoted-printable parts
    # encode every "=", so a line starting with "--=_" cannot occur in them.
    mime = MIMEMultipart("alternative", boundary=f"=_autocmo_{_boundary_id(msg.id)}")
    mime["Message-ID"] = message_id_header(msg)
    mime["Date"] = format_datetime(utcnow())
    mime["From"] = formataddr((_one_line(msg.from_name), sender), charset="utf-8")
    mime["To"] = to
    mime["Subject"] = _header(msg.subject or "")
    if msg.unsubscribe_url:
        url = msg.unsubscribe_url.strip()
        if not _URL_ONLY.match(url):
            raise ValueError(f"unsubscribe URL is not a plain http(s) URL: {url!r}")
        mime["List-Unsubscribe"] = f"<{url}>"
        mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime["X-Autocmo-Idempotency-Key"] = _header(msg.idempotency_key)
    mime.attach(_text_part(msg.body, "plain"))
    mime.attach(_text_part(msg.html or text_to_html(msg.body), "html"))
    return mime


def _boundary_id(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:24]


def email_bytes(mime: Message) -> bytes:
    """The wire form of a built e-mail (CRLF line endings)."""
    return mime.as_bytes(policy=_WIRE)
