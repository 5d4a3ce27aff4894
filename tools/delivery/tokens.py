"""Signed, URL-safe tokens (unsubscribe links): base64url JSON payload + HMAC-SHA256."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence

from core.models import Channel
from core.settings import Settings


class InvalidToken(ValueError):
    """The token is malformed or its signature does not match (tampered or another secret)."""


def sign_token(secret: str, payload: dict[str, str]) -> str:
    """`<payload>.<signature>`, both base64url without padding; the payload is readable JSON."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    body = _b64(raw)
    return f"{body}.{_b64(_mac(secret, body))}"


def verify_token(secret: str | Sequence[str], token: str) -> dict[str, str]:
    """The payload of a token signed with `secret` (or any of several keys, so links signed
    before a key rotation still verify); raises `InvalidToken` otherwise."""
    body, sep, sig = token.strip().partition(".")
    if not sep or not body or not sig:
        raise InvalidToken("token is malformed (expected <payload>.<signature>)")
    try:
        given = _unb64(sig)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("token signature is not base64url") from exc
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not any(hmac.compare_digest(given, _mac(key, body)) for key in keys):
        raise InvalidToken("token signature does not match; the link was altered or is foreign")
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("token payload is not base64url JSON") from exc
    if not isinstance(payload, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in payload.items()
    ):
        raise InvalidToken("token payload is not a string mapping")
    return payload


def unsubscribe_url(
    settings: Settings, *, customer_id: str, channel: Channel, campaign_id: str
) -> str:
    """The one-click unsubscribe link for a person, channel and campaign: `{base}/u/{token}`.

    The token payload is `{"p": "unsubscribe", "customer_id", "channel", "campaign_id"}`.
    """
    token = sign_token(
        settings.secret_key,
        {
            "p": "unsubscribe",
            "customer_id": customer_id,
            "channel": Channel(channel).value,
            "campaign_id": campaign_id,
        },
    )
    return f"{settings.public_base_url.rstrip('/')}/u/{token}"


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not ASCII")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
