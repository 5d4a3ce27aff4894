"""What every channel adapter speaks: the outbound message, the send result and the errors."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from core.models import Channel


class OutboundMessage(BaseModel):
    """One message ready to leave the system, as an adapter sees it."""

    id: str
    """Outbox message id; adapters derive stable provider ids from it (e.g. `Message-ID`)."""
    idempotency_key: str
    """Key that is the same on every re-send of this message, so receivers can de-duplicate."""
    channel: Channel
    """Channel it goes out on."""
    to: str
    """Recipient address: e-mail address, E.164 phone number, device token or endpoint id."""
    subject: str | None
    """Subject (e-mail) or title (push); None where the channel has none."""
    body: str
    """Plain-text body, compliance footer included."""
    html: str | None = None
    """HTML body; for e-mail it is made from `body` when absent."""
    from_name: str
    """Sender display name."""
    from_email: str
    """Sender address."""
    unsubscribe_url: str | None
    """One-click unsubscribe link (RFC 8058 for e-mail), if any."""
    campaign_id: str
    """Campaign the message belongs to."""
    customer_id: str
    """Recipient's customer id."""


class SendResult(BaseModel):
    """What a channel returns for an accepted message."""

    provider_message_id: str
    """The provider's id for the message (SMTP Message-ID, file name, webhook response id)."""
    segments: int | None = None
    """SMS parts the provider bills for (GSM-7 / UCS-2 segments); None for other channels."""


class TransientSendError(Exception):
    """The send may succeed later: timeouts, 429, 5xx, SMTP 4xx, connection refused."""


class PermanentSendError(Exception):
    """The send will not succeed as is: SMTP 5xx, invalid recipient, 4xx other than 429."""


class ChannelAdapter(Protocol):
    """A way out of the system for one channel. Adapters are synchronous and not shared
    between threads unless they say so with a class attribute `thread_safe = True` (the
    dispatcher sends through the others one message at a time)."""

    channel: Channel
    """The channel this adapter delivers."""

    def send(self, msg: OutboundMessage) -> SendResult:
        """Deliver one message or raise `TransientSendError` / `PermanentSendError`."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
