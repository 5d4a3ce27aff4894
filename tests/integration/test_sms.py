"""The SMS adapter against a real Twilio-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.models import Channel
from core.settings import Settings
from tests.support.servers import TwilioServer, free_port
from tools.delivery.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from tools.delivery.channels.registry import build_adapters, close_adapters
from tools.delivery.channels.sms import SMSAdapter, twilio_signature, verify_twilio_signature

pytestmark = pytest.mark.integration

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-test-token"
SENDER = "+15005550006"


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    """A Twilio-compatible Messages API for one test."""
    server = TwilioServer(SID, TOKEN).start()
    yield server
    server.stop()


def _adapter(server: TwilioServer, **kw: Any) -> SMSAdapter:
    values: dict[str, Any] = {"timeout": 5.0}
    values.update(kw)
    return SMSAdapter(server.base_url, SID, kw.pop("token", TOKEN), SENDER, **values)


def _msg(**kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": "msg_s1",
        "idempotency_key": "cmp_1:s2:cus_1",
        "channel": Channel.SMS,
        "to": "+14155550100",
        "subject": None,
        "body": "Northwind: your cart is waiting, 10% off with COMEBACK10. Reply STOP to opt out.",
        "from_name": "Northwind",
        "from_email": "hello@northwind.example",
        "unsubscribe_url": None,
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
    }
    values.update(kw)
    return OutboundMessage(**values)


def test_sends_form_encoded_with_basic_auth(twilio: TwilioServer) -> None:
    adapter = _adapter(twilio)
    try:
        result = adapter.send(_msg())
        second = adapter.send(_msg(id="msg_s2", body="Zoë, 10 % off 🎉"))
    finally:
        adapter.close()
    assert result.provider_message_id.startswith("SM") and len(result.provider_message_id) == 34
    assert result.provider_message_id != second.provider_message_id
    assert result.segments == 1 and second.segments == 1
    got = twilio.messages[0]
    assert got == {"To": "+14155550100", "From": SENDER, "Body": _msg().body}
    assert twilio.messages[1]["Body"] == "Zoë, 10 % off 🎉"  # UTF-8 survives the form encoding
    assert twilio.headers[0]["Idempotency-Key"] == "cmp_1:s2:cus_1"
    assert twilio.unauthorized == 0


def test_messaging_service_sender(twilio: TwilioServer) -> None:
    adapter = SMSAdapter(twilio.base_url, SID, TOKEN, "MG" + "a" * 32, timeout=5)
    try:
        adapter.send(_msg())
    finally:
        adapter.close()
    assert twilio.messages[0]["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in twilio.messages[0]


def test_segments_are_counted_per_encoding(twilio: TwilioServer) -> None:
    adapter = _adapter(twilio)
    try:
        cases = {
            "a" * 160: 1,  # GSM-7: 160 septets in one part
            "a" * 161: 2,  # then 153 per part
            "€" * 80: 1,  # extension characters take two septets each
            "€" * 81: 2,
            "é" * 160: 1,  # é is in the GSM-7 basic set
            "ą" * 70: 1,  # UCS-2: 70 units in one part
            "ą" * 71: 2,  # then 67 per part
            "🎉" * 35: 1,  # an emoji is two UTF-16 units
            "🎉" * 36: 2,
        }
        got = {body: adapter.send(_msg(body=body)).segments for body in cases}
    finally:
        adapter.close()
    assert got == cases


def test_invalid_number_is_permanent(twilio: TwilioServer) -> None:
    twilio.invalid_numbers.add("+15005550001")
    adapter = _adapter(twilio)
    try:
        with pytest.raises(PermanentSendError, match=r"400 \(error 21211\).*not a valid phone"):
            adapter.send(_msg(to="+15005550001"))
    finally:
        adapter.close()
    assert twilio.messages == []


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (429, 20429, TransientSendError),
        (500, 20500, TransientSendError),
        (503, 20503, TransientSendError),
        (400, 21610, PermanentSendError),  # the recipient replied STOP to this sender
        (400, 21614, PermanentSendError),  # not a mobile number
    ],
)
def test_error_classification(
    twilio: TwilioServer, status: int, code: int, error: type[Exception]
) -> None:
    twilio.failures = [(status, code)]
    adapter = _adapter(twilio)
    try:
        with pytest.raises(error, match=f"{status} \\(error {code}\\)"):
            adapter.send(_msg())
        adapter.send(_msg())  # the next call succeeds on the same client
    finally:
        adapter.close()
    assert len(twilio.messages) == 1


def test_wrong_token_is_refused(twilio: TwilioServer) -> None:
    adapter = SMSAdapter(twilio.base_url, SID, "wrong", SENDER, timeout=5)
    try:
        with pytest.raises(PermanentSendError, match="401"):
            adapter.send(_msg())
    finally:
        adapter.close()
    assert twilio.unauthorized == 1


def test_refused_connection_is_transient_and_long_body_permanent() -> None:
    adapter = SMSAdapter(f"http://127.0.0.1:{free_port()}", SID, TOKEN, SENDER, timeout=2)
    try:
        with pytest.raises(TransientSendError, match="unreachable"):
            adapter.send(_msg())
        with pytest.raises(PermanentSendError, match="1601 characters"):
            adapter.send(_msg(body="x" * 1601))
    finally:
        adapter.close()


def test_registry_uses_the_sms_api_when_configured(settings: Settings) -> None:
    adapters = build_adapters(settings)
    assert type(adapters[Channel.SMS]).__name__ == "FileSinkAdapter"
    close_adapters(adapters)
    configured = settings.model_copy(
        update={"sms_account_sid": SID, "sms_auth_token": TOKEN, "sms_from": SENDER}
    )
    adapters = build_adapters(configured)
    try:
        sms = adapters[Channel.SMS]
        assert isinstance(sms, SMSAdapter)
        assert sms.url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    finally:
        close_adapters(adapters)


def test_twilio_signature_matches_the_documented_example() -> None:
    # https://www.twilio.com/docs/usage/security#validating-requests
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert verify_twilio_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not verify_twilio_signature(
        "12345", url, {**params, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    assert not verify_twilio_signature("other", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
