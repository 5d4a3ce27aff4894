"""SMS through a Twilio-compatible REST API, and Twilio's webhook signature.

Sending: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded `To`, `From` (or
`MessagingServiceSid` when the sender starts with `MG`) and `Body`, HTTP basic auth with the
account SID and auth token; the reply is the message resource as JSON, whose `sid` is the
provider id. 429, 5xx, timeouts and connection errors are transient; 4xx are permanent (e.g.
Twilio error 21211 invalid `To` number, 21610 recipient replied STOP, 21614 not a mobile
number).

Idempotency: the request carries `Idempotency-Key` (stable across re-sends) for gateways that
honour it. Twilio's Messages API documents no such key, so against Twilio itself a re-send
after a crash (see `tools.delivery.dispatch`) can reach the phone twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

import httpx

from core.models import Channel
from tools.delivery.channels.base import (
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from tools.sms_encoding import segments

MAX_BODY_CHARS = 1600
"""Twilio rejects longer bodies (error 21617)."""


class SMSAdapter:
    """Sends SMS through a Twilio-compatible API; keeps one HTTP connection pool."""

    channel = Channel.SMS
    thread_safe = True
    """Concurrent sends are safe (httpx's client is thread-safe and pools connections)."""

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        if not account_sid or not auth_token or not sender:
            raise ValueError("SMS needs an account SID, an auth token and a sender number")
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.sender = sender.strip()
        self.timeout = timeout
        self._client = httpx.Client(
            auth=(account_sid, auth_token), timeout=timeout, follow_redirects=False
        )

    def send(self, msg: OutboundMessage) -> SendResult:
        """Submit one SMS; the provider id is the message `sid`, `segments` what it bills."""
        body = msg.body
        if not body.strip():
            raise PermanentSendError(f"SMS {msg.id} has an empty body")
        if len(body) > MAX_BODY_CHARS:
            raise PermanentSendError(
                f"SMS {msg.id} is {len(body)} characters; the limit is {MAX_BODY_CHARS}"
            )
        count, _encoding, _ = segments(body)
        form = {"To": msg.to.strip(), "Body": body}
        form["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        try:
            resp = self._client.post(
                self.url, data=form, headers={"Idempotency-Key": msg.idempotency_key}
            )
        except httpx.TransportError as exc:  # timeouts, refused connections, protocol errors
            raise TransientSendError(f"SMS API {self.url} unreachable: {exc!r}") from exc
        code = resp.status_code
        if 200 <= code < 300:
            sid = _field(resp, "sid")
            if not sid:
                raise PermanentSendError(f"SMS API accepted {msg.id} but returned no sid")
            return SendResult(provider_message_id=sid, segments=count)
        error = _field(resp, "code")
        detail = f"SMS API answered {code}" + (f" (error {error})" if error else "")
        text = _field(resp, "message") or resp.text[:200]
        detail = f"{detail}: {text}"
        if code in (408, 429) or code >= 500:
            raise TransientSendError(detail)
        raise PermanentSendError(detail)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, over the
    full URL followed by every POST parameter as `name + value`, sorted by name."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_twilio_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str] | Iterable[tuple[str, str]],
    signature: str,
) -> bool:
    """True if `signature` is Twilio's signature of this request."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    expected = twilio_signature(auth_token, url, pairs)
    return hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace"))


def _field(resp: httpx.Response, name: str) -> str | None:
    try:
        data = resp.json()
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) and str(value) else None
