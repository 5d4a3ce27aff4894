"""Signed tokens and unsubscribe links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from core.models import Channel
from core.settings import Settings
from tools.delivery.tokens import InvalidToken, sign_token, unsubscribe_url, verify_token


def test_round_trip_and_url_safety() -> None:
    payload = {"customer_id": "cus_1", "note": "ünïcode & spaces/+?"}
    token = sign_token("s3cret", payload)
    assert verify_token("s3cret", token) == payload
    assert all(ch.isalnum() or ch in "-_." for ch in token)


def test_tampered_payload_is_rejected() -> None:
    token = sign_token("s3cret", {"customer_id": "cus_1"})
    body, sig = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"customer_id": "cus_2"}).encode()).decode()
    with pytest.raises(InvalidToken, match="signature"):
        verify_token("s3cret", f"{forged.rstrip('=')}.{sig}")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        verify_token("s3cret", f"{flipped}.{sig}")


def test_wrong_secret_and_garbage_are_rejected() -> None:
    token = sign_token("s3cret", {"a": "b"})
    with pytest.raises(InvalidToken):
        verify_token("other", token)
    for bad in ["", "abc", ".", "abc.", ".abc", "a.b.c", "é.é"]:
        with pytest.raises(InvalidToken):
            verify_token("s3cret", bad)


def test_non_string_payload_values_are_rejected() -> None:
    # Correctly signed, but not a str -> str mapping.
    raw = base64.urlsafe_b64encode(b'{"a":1}').rstrip(b"=").decode()
    sig = hmac.new(b"k", raw.encode(), hashlib.sha256).digest()
    token = f"{raw}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(InvalidToken, match="string mapping"):
        verify_token("k", token)


def test_unsubscribe_url(settings: Settings) -> None:
    s = settings.model_copy(update={"public_base_url": "https://shop.example/", "secret_key": "k1"})
    url = unsubscribe_url(s, customer_id="cus_9", channel=Channel.SMS, campaign_id="cmp_3")
    assert url.startswith("https://shop.example/u/")
    token = url.rsplit("/", 1)[1]
    assert verify_token("k1", token) == {
        "p": "unsubscribe",
        "customer_id": "cus_9",
        "channel": "sms",
        "campaign_id": "cmp_3",
    }
    with pytest.raises(InvalidToken):
        verify_token(settings.secret_key, token)
