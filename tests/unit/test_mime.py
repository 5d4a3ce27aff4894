"""`email_bytes` writes the e-mail directly; these tests hold it to what the standard library's
e-mail package writes for the same parts (the compat32 classes it was built with before) and
parse it back."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email import message_from_bytes
from email.charset import QP, Charset
from email.header import Header
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr
from typing import Any

import pytest

from core.models import Channel
from tools.delivery.channels import mime
from tools.delivery.channels.base import OutboundMessage

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mime, "utcnow", lambda: NOW)


def _reference(msg: OutboundMessage) -> bytes:
    """The same e-mail through the e-mail package's classes and generator."""
    utf8 = Charset("utf-8")
    utf8.header_encoding = QP
    utf8.body_encoding = QP

    def header(value: str) -> Any:
        value = " ".join(value.split())
        return value if value.isascii() else Header(value, utf8)

    def part(text: str, subtype: str) -> MIMENonMultipart:
        p = MIMENonMultipart("text", subtype, charset="utf-8")
        p.set_payload(text, utf8)
        return p

    m = MIMEMultipart("alternative", boundary=f"=_autocmo_{mime._boundary_id(msg.id)}")
    m["Message-ID"] = mime.message_id_header(msg)
    m["Date"] = format_datetime(NOW)
    m["From"] = formataddr((" ".join(msg.from_name.split()), msg.from_email.strip()), "utf-8")
    m["To"] = msg.to.strip()
    m["Subject"] = header(msg.subject or "")
    if msg.unsubscribe_url:
        m["List-Unsubscribe"] = f"<{msg.unsubscribe_url.strip()}>"
        m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m["X-Autocmo-Idempotency-Key"] = header(msg.idempotency_key)
    m.attach(part(msg.body, "plain"))
    m.attach(part(msg.html or mime.text_to_html(msg.body), "html"))
    return m.as_bytes(policy=compat32.clone(linesep="\r\n"))


def _msg(**kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": "msg_1",
        "idempotency_key": "cmp_1:s1:cus_1",
        "channel": Channel.EMAIL,
        "to": "ana@example.com",
        "subject": "Your picks",
        "body": "Hi Ana,\n\nNew boots: https://shop.example/p/1?a=1&b=2\n",
        "from_name": "Trail & Co",
        "from_email": "hello@shop.example",
        "unsubscribe_url": "https://shop.example/u/tok",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
    }
    values.update(kw)
    return OutboundMessage(**values)


PIECES = [
    *"ab z.=\t\n\r-",
    "ä",
    "Å",  # its UTF-8 has the byte 0x85, a line break to `str.splitlines` on Latin-1
    "€",
    "😀",
    "\x0b",
    "\x0c",
    ".\n",
    "\n.",
    "--=_autocmo_",
    "From ",
    "https://shop.example/p?a=1&b=2",
    "=====",
    "x" * 90,
    " \n",
]


def test_same_bytes_as_the_email_package_for_random_messages() -> None:
    rnd = random.Random(12)

    def text(n: int) -> str:
        return "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, n)))

    for i in range(400):
        msg = _msg(
            id=rnd.choice(["m1", f"msg_{i}", f"odd id/é {i}"]),
            idempotency_key=rnd.choice([f"k:{i}", "ké" * rnd.randint(1, 40), "k" * 120]),
            to=rnd.choice(["a@example.com", " b@example.org "]),
            subject=rnd.choice([None, "", text(30), "S" * 100, "Grüße " * 15, "a\r\nBcc: x@y"]),
            body=text(400),
            html=rnd.choice([None, f"<p>{text(300)}</p>"]),
            from_name=rnd.choice(["Shop", "Schön Shop", "A" * 80, 'Q "x" <y>']),
            unsubscribe_url=rnd.choice([None, "https://u.example/u/" + "t" * rnd.randint(1, 100)]),
        )
        assert mime.email_bytes(msg) == _reference(msg), msg


def test_parses_back_to_the_parts_and_headers() -> None:
    body = "Grüße,\n\n.a line starting with a dot\ntrailing space \nx=1 " + "y" * 100 + "\n"
    msg = _msg(subject="Grüße from the shop", body=body)
    parsed = message_from_bytes(mime.email_bytes(msg), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Grüße from the shop"
    assert parsed["Message-ID"] == "<msg_1@shop.example>"
    assert parsed["List-Unsubscribe"] == "<https://shop.example/u/tok>"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == body  # the wire has CRLF line ends
    assert "Grüße" in html.get_content()


@pytest.mark.parametrize("bad", ["a<b@example.com", "a@example.com>", "a\x00@example.com"])
def test_an_address_that_would_break_the_smtp_envelope_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid e-mail address"):
        mime.email_bytes(_msg(to=bad))
