"""Run every deterministic check family on a message and reduce findings to a verdict.

Checks run on the final text, footer included, exactly as the person will see it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from brand_guardrails.kit import BrandKit
from core.models import Channel, Finding, Offer, Severity


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
    sender: str | None = None
    """The From header as it will be sent (`Name <address>`), when known (e-mail)."""


def check_message(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """All findings of all check families on one message (in family order)."""
    from brand_guardrails.checks._engine import engine

    return engine(kit).check(msg)


def verdict(findings: list[Finding]) -> Literal["pass", "warn", "block"]:
    """`block` if any finding blocks, `warn` if any warns, else `pass`."""
    if any(f.severity == Severity.BLOCK for f in findings):
        return "block"
    if findings:
        return "warn"
    return "pass"
