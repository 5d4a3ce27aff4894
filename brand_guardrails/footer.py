"""The compliance footer the system appends to every message (never left to the writer).

E-mail: offer and channel disclaimers, why you got this, sender identity, unsubscribe link,
postal address (CAN-SPAM). SMS: brand prefix, disclaimers and the STOP opt-out. Push: the
short offer and channel disclaimers, if any (nothing else fits a notification).
"""

from __future__ import annotations

from brand_guardrails.kit import BrandKit
from core.models import Channel, Offer
from tools.sms_encoding import to_gsm7

SHORT_DISCLAIMER_CHANNELS = frozenset({Channel.SMS, Channel.PUSH})
"""Channels too short for an offer's full terms: they carry its `short` disclaimer."""


def sms_prefix(kit: BrandKit) -> str:
    """The text every SMS starts with, e.g. `Northwind: `."""
    p = (kit.channel_rules.sms.brand_prefix or kit.name.split()[0]).strip()
    return (p if p.endswith(":") else p + ":") + " "


def offer_disclaimer(kit: BrandKit, channel: Channel, offer: Offer | None) -> str:
    """The disclaimer an offer of this type needs on this channel ("" when none)."""
    if offer is None or offer.kind == "none":
        return ""
    d = kit.disclaimers.by_offer.get(offer.kind)
    if d is None:
        return ""
    return d.short if channel in SHORT_DISCLAIMER_CHANNELS else d.text


def compliance_footer(
    kit: BrandKit, channel: Channel, *, unsubscribe_url: str, offer: Offer | None = None
) -> str:
    """The footer text for a channel (SMS: disclaimers and STOP; the prefix is separate)."""
    parts = [offer_disclaimer(kit, channel, offer), kit.disclaimers.by_channel.get(channel, "")]
    parts = [p.strip() for p in parts if p.strip()]
    if channel == Channel.EMAIL:
        site = kit.site_url.split("://", 1)[-1].rstrip("/")
        ad = kit.channel_rules.email.ad_disclosure
        lines = [
            *parts,
            *([ad.strip()] if ad and ad.strip() else []),
            kit.footer.signed_up.format(brand=kit.name, site=site),
            f"{kit.footer.sent_by} {kit.sender.from_name} <{kit.sender.from_email}>.",
            f"{kit.footer.unsubscribe}: {unsubscribe_url}",
            kit.postal_address.strip(),
        ]
        return "--\n" + "\n".join(lines)
    if channel == Channel.SMS:
        return " ".join([*parts, kit.channel_rules.sms.opt_out_text.strip()])
    return " ".join(parts)


def apply_footer(
    kit: BrandKit,
    channel: Channel,
    body: str,
    unsubscribe_url: str,
    *,
    offer: Offer | None = None,
) -> str:
    """The final text: body plus footer (SMS: prefix + body + disclaimers + STOP, with
    characters outside GSM-7 replaced by close equivalents where one exists)."""
    body = body.strip()
    footer = compliance_footer(kit, channel, unsubscribe_url=unsubscribe_url, offer=offer)
    if channel == Channel.EMAIL:
        return f"{body}\n\n{footer}"
    if channel == Channel.SMS:
        prefix = sms_prefix(kit)
        if not body.lower().startswith(prefix.strip().lower()):
            body = prefix + body
        return to_gsm7(f"{body} {footer}")
    return f"{body} {footer}" if footer else body
