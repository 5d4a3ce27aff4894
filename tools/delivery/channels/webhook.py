"""Messages as signed JSON POSTs to a URL (for a customer's own sender, a CDP, a push service).

Signature scheme (document for receivers): `X-Autocmo-Signature: sha256=<hex>` where hex is
HMAC-SHA256 with the shared secret over `f"{timestamp}.{body}"`, `timestamp` being the
`X-Autocmo-Timestamp` header (Unix seconds) and `body` the raw request body. Receivers check it
with `verify_signature` and reject stale timestamps; `Idempotency-Key` is stable across re-sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence

import httpx

from core.models import Channel
from tools.delivery.channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """The `X-Autocmo-Signature` value for a body sent at `timestamp`."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    digest = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + raw, hashlib.sha256
    )
    return f"sha256={digest.hexdigest()}"


def verify_signature(
    secret: str | Sequence[str],
    timestamp: str,
    body: str | bytes,
    signature: str,
    tolerance_s: float = 300,
    *,
    now: float | None = None,
) -> bool:
    """True if `signature` signs `body` at `timestamp` and the timestamp is within tolerance.
    `secret` may be several keys (current first, then earlier ones after a rotation)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    given = signature.strip().encode("utf-8", "replace")
    keys = [secret] if isinstance(secret, str) else list(secret)
    try:
        return any(hmac.compare_digest(sign(k, timestamp, body).encode(), given) for k in keys)
    except UnicodeEncodeError:
        return False


class WebhookAdapter:
    """POSTs each message as JSON to `url`, signed with `secret`. Keeps one HTTP connection pool.

    429, 408, 5xx, timeouts and connection errors raise `TransientSendError`; other non-2xx
    replies raise `PermanentSendError`.
    """

    thread_safe = True
    """Concurrent sends are safe (httpx's client is thread-safe and pools connections)."""

    def __init__(
        self, url: str, secret: str, timeout: float = 10.0, *, channel: Channel = Channel.WEBHOOK
    ) -> None:
        self.url = url
        self.channel = channel
        self._secret = secret
        self.timeout = timeout
        self._client = httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, msg: OutboundMessage) -> SendResult:
        """POST the message; the provider id is the response's JSON `id` when it has one."""
        body = json.dumps(msg.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Autocmo-Timestamp": timestamp,
            "X-Autocmo-Signature": sign(self._secret, timestamp, body),
            "Idempotency-Key": msg.idempotency_key,
        }
        try:
            resp = self._client.post(self.url, content=body.encode("utf-8"), headers=headers)
        except httpx.TransportError as exc:  # timeouts, refused connections, protocol errors
            raise TransientSendError(f"webhook {self.url} unreachable: {exc!r}") from exc
        code = resp.status_code
        if 200 <= code < 300:
            return SendResult(provider_message_id=_response_id(resp) or msg.id)
        detail = f"webhook {self.url} answered {code}: {resp.text[:200]}"
        if code in (408, 429) or code >= 500:
            raise TransientSendError(detail)
        raise PermanentSendError(detail)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _response_id(resp: httpx.Response) -> str | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) and str(value) else None
