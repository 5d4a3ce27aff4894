"""The message the guardrails check: one rendered message, exactly as it will be sent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from core.models import Channel, Offer


class CopyToCheck(BaseModel):
    """One rendered message, as it will be sent (footer included)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    """Channel it goes out on."""
    subject: str | None = None
    """Rendered subject (e-mail, push title)."""
    body: str
    """Rendered body including the compliance footer (SMS: prefix and STOP text)."""
    offer: Offer | None = None
    """The campaign's offer, if any; its disclaimers and thresholds apply."""
    system_links: tuple[str, ...] = ()
    """Links the system itself placed (the signed unsubscribe link); exempt from the domain
    check, which otherwise only allows the brand's own domains."""
    recipient: dict[str, str] | None = None
    """The recipient's own data as the template could place it: `email`, `phone`,
    `first_name`, and the values of their private traits (keyed by the kit's
    `private_fields` names). Their own e-mail/phone may appear in copy; private values never."""
    locale: str | None = None
    """The recipient's locale (`de-DE`); the checks apply in the kit's text for that language
    (footer, disclaimers, opt-out), the default language when the kit has none for it."""
    sender: str | None = None
    """The From header as it will be sent (`Name <address>`), when known (e-mail)."""
