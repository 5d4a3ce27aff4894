"""The webhook adapter against a real HTTP server on 127.0.0.1 that checks signatures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.models import Channel
from tests.support.servers import WebhookSink
from tools.delivery.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from tools.delivery.channels.webhook import WebhookAdapter, sign, verify_signature

pytestmark = pytest.mark.integration

SECRET = "whsec_test"


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    """A signature-checking webhook receiver for one test."""
    sink = WebhookSink(SECRET).start()
    yield sink
    sink.stop()


def _msg(**kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": "msg_w1",
        "idempotency_key": "cmp_1:s2:cus_1",
        "channel": Channel.WEBHOOK,
        "to": "crm-endpoint",
        "subject": None,
        "body": "Ana, your cart is waiting — 10 % off until Sunday.",
        "from_name": "Shop",
        "from_email": "hi@shop.example",
        "unsubscribe_url": "https://shop.example/u/t",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
    }
    values.update(kw)
    return OutboundMessage(**values)


def test_signed_post_is_accepted(webhook_sink: WebhookSink) -> None:
    adapter = WebhookAdapter(webhook_sink.url, SECRET, 5)
    try:
        result = adapter.send(_msg())
        adapter.send(_msg(id="msg_w2", idempotency_key="k2"))
    finally:
        adapter.close()
    assert result.provider_message_id == "wh_msg_w1"
    assert webhook_sink.rejected == 0
    assert [b["id"] for b in webhook_sink.received] == ["msg_w1", "msg_w2"]
    assert webhook_sink.received[0]["body"].endswith("until Sunday.")
    assert webhook_sink.headers[0]["Idempotency-Key"] == "cmp_1:s2:cus_1"
    assert webhook_sink.headers[0]["X-Autocmo-Signature"].startswith("sha256=")


def test_wrong_secret_is_rejected_as_permanent(webhook_sink: WebhookSink) -> None:
    adapter = WebhookAdapter(webhook_sink.url, "not-the-secret", 5)
    try:
        with pytest.raises(PermanentSendError, match="401"):
            adapter.send(_msg())
    finally:
        adapter.close()
    assert webhook_sink.rejected == 1 and webhook_sink.received == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, TransientSendError),
        (503, TransientSendError),
        (500, TransientSendError),
        (400, PermanentSendError),
        (404, PermanentSendError),
        (422, PermanentSendError),
    ],
)
def test_status_classification(
    webhook_sink: WebhookSink, status: int, error: type[Exception]
) -> None:
    webhook_sink.statuses = [status]
    adapter = WebhookAdapter(webhook_sink.url, SECRET, 5)
    try:
        with pytest.raises(error, match=str(status)):
            adapter.send(_msg())
        adapter.send(_msg())  # the next call succeeds on the same client
    finally:
        adapter.close()
    assert len(webhook_sink.received) == 1


def test_timeout_and_refused_connection_are_transient(webhook_sink: WebhookSink) -> None:
    webhook_sink.delay_s = 1.0
    adapter = WebhookAdapter(webhook_sink.url, SECRET, 0.2)
    try:
        with pytest.raises(TransientSendError, match="unreachable"):
            adapter.send(_msg())
    finally:
        adapter.close()
    url = webhook_sink.url
    webhook_sink.delay_s = 0
    webhook_sink.stop()
    adapter = WebhookAdapter(url, SECRET, 1)
    try:
        with pytest.raises(TransientSendError, match="unreachable"):
            adapter.send(_msg())
    finally:
        adapter.close()


def test_verify_signature_rules() -> None:
    body = '{"a":1}'
    now = 1_700_000_000
    sig = sign(SECRET, str(now), body)
    assert verify_signature(SECRET, str(now), body, sig, now=now)
    assert verify_signature(SECRET, str(now), body.encode(), sig, now=now + 299)
    assert not verify_signature(SECRET, str(now), body, sig, now=now + 301)  # stale
    assert not verify_signature(SECRET, str(now), body, sig, now=now - 301)  # from the future
    assert not verify_signature(SECRET, str(now), body + " ", sig, now=now)  # body changed
    assert not verify_signature(SECRET, str(now + 1), body, sig, now=now)  # timestamp changed
    assert not verify_signature("other", str(now), body, sig, now=now)
    assert not verify_signature(SECRET, "yesterday", body, sig, now=now)
    assert not verify_signature(SECRET, str(now), body, "sha256=zz", now=now)
