"""The SMTP adapter against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage, Message
from typing import Any

import pytest

from core.models import Channel
from tests.support.servers import SMTPSink, free_port
from tools.delivery.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from tools.delivery.channels.smtp import SMTPAdapter

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def _msg(**kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": "msg_abc123",
        "idempotency_key": "cmp_1:s1:cus_1",
        "channel": Channel.EMAIL,
        "to": "ana@example.com",
        "subject": "Your picks, Ana",
        "body": "Hi Ana,\n\nNew boots are in: https://shop.example/p/1?a=1&b=2.\n\n"
        "Unsubscribe: https://shop.example/u/tok",
        "from_name": "Trail & Co",
        "from_email": "hello@shop.example",
        "unsubscribe_url": "https://shop.example/u/tok",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
    }
    values.update(kw)
    return OutboundMessage(**values)


def _parts(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part, EmailMessage)
            out[part.get_content_type()] = str(part.get_content())
    return out


def test_delivers_multipart_with_all_headers(smtp_sink: SMTPSink) -> None:
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        result = adapter.send(_msg())
        adapter.send(_msg(id="msg_second", idempotency_key="k2", to="bo@example.com"))
    finally:
        adapter.close()

    assert len(smtp_sink.messages) == 2
    got = smtp_sink.messages[0]
    assert got.get_content_type() == "multipart/alternative"
    assert got["Message-ID"] == "<msg_abc123@shop.example>" == result.provider_message_id
    assert got["From"] == "Trail & Co <hello@shop.example>"
    assert got["To"] == "ana@example.com"
    assert got["Subject"] == "Your picks, Ana"
    assert got["Date"]
    assert got["List-Unsubscribe"] == "<https://shop.example/u/tok>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got["X-Autocmo-Idempotency-Key"] == "cmp_1:s1:cus_1"
    parts = _parts(got)
    assert "New boots are in" in parts["text/plain"]
    html = parts["text/html"]
    assert '<a href="https://shop.example/p/1?a=1&amp;b=2">' in html  # linkified, escaped,
    assert "</a>." in html  # trailing punctuation left out of the link
    assert html.count("<p>") == 3
    assert smtp_sink.envelopes[0] == ("hello@shop.example", ["ana@example.com"])
    assert smtp_sink.messages[1]["To"] == "bo@example.com"


def test_message_id_is_stable_across_resends(smtp_sink: SMTPSink) -> None:
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        first = adapter.send(_msg())
        second = adapter.send(_msg())
    finally:
        adapter.close()
    assert first.provider_message_id == second.provider_message_id
    assert smtp_sink.messages[0]["Message-ID"] == smtp_sink.messages[1]["Message-ID"]


def test_html_escapes_markup_in_text(smtp_sink: SMTPSink) -> None:
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        adapter.send(_msg(body="<script>alert(1)</script> & more", unsubscribe_url=None))
    finally:
        adapter.close()
    got = smtp_sink.messages[0]
    html = _parts(got)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert got["List-Unsubscribe"] is None and got["List-Unsubscribe-Post"] is None


def test_451_is_transient_and_550_is_permanent(smtp_sink: SMTPSink) -> None:
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        smtp_sink.reply = "451 4.7.1 greylisted"
        with pytest.raises(TransientSendError, match="451"):
            adapter.send(_msg())
        smtp_sink.reply = "550 5.1.1 no such user"
        with pytest.raises(PermanentSendError, match="550"):
            adapter.send(_msg())
        # The same connection still works after the refusals.
        smtp_sink.reply = "250 OK"
        adapter.send(_msg())
    finally:
        adapter.close()
    assert len(smtp_sink.messages) == 1


def test_connection_refused_is_transient() -> None:
    adapter = SMTPAdapter("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(TransientSendError, match="cannot talk"):
        adapter.send(_msg())
    adapter.close()


def test_reconnects_after_server_restart() -> None:
    sink = SMTPSink().start()
    adapter = SMTPAdapter("127.0.0.1", sink.port, timeout=5)
    try:
        adapter.send(_msg())
        sink.stop()  # the pooled connection dies with the server
        restarted = SMTPSink(sink.port).start()
        try:
            adapter.send(_msg(id="msg_after"))
        finally:
            restarted.stop()
    finally:
        adapter.close()
    assert [m["Message-ID"] for m in restarted.messages] == ["<msg_after@shop.example>"]


def test_invalid_recipient_is_permanent_without_network() -> None:
    adapter = SMTPAdapter("127.0.0.1", free_port(), timeout=2)
    with pytest.raises(PermanentSendError, match="not a valid e-mail address"):
        adapter.send(_msg(to="not-an-address"))
    with pytest.raises(PermanentSendError):
        adapter.send(_msg(to="a@b.c\r\nBcc: victim@example.com"))


def test_pipelines_mail_rcpt_and_data_when_the_server_offers_it(smtp_sink: SMTPSink) -> None:
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        adapter.send(_msg())
        adapter.send(_msg(id="msg_2", body=".a line that starts with a dot\n.\nend"))
        smtp_sink.pipelining = False  # a server that does not offer it, on a new connection
        adapter.close()
        adapter.send(_msg(id="msg_3"))
    finally:
        adapter.close()
    assert smtp_sink.pipelined == [True, True, False]  # one command at a time without it
    assert len(smtp_sink.messages) == 3
    dotted = smtp_sink.messages[1].get_body(("plain",))
    assert dotted is not None
    assert dotted.get_content().replace("\r\n", "\n") == ".a line that starts with a dot\n.\nend"


@pytest.mark.parametrize("pipelining", [True, False])
def test_a_refused_recipient_fails_that_message_only(smtp_sink: SMTPSink, pipelining: bool) -> None:
    smtp_sink.pipelining = pipelining
    smtp_sink.refuse = {
        "gone@example.com": "550 5.1.1 no such user",
        "full@example.com": "452 4.2.2 mailbox full",
    }
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    try:
        with pytest.raises(PermanentSendError, match=r"gone@example\.com refused: SMTP 550"):
            adapter.send(_msg(to="gone@example.com"))
        with pytest.raises(TransientSendError, match=r"full@example\.com refused: SMTP 452"):
            adapter.send(_msg(id="msg_full", to="full@example.com"))
        adapter.send(_msg(id="msg_ok", to="bo@example.com"))  # the same connection goes on
    finally:
        adapter.close()
    assert [m["Message-ID"] for m in smtp_sink.messages] == ["<msg_ok@shop.example>"]
    assert len(set(smtp_sink.peers)) == 1
