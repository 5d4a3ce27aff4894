"""Contact points: validate and normalise e-mail addresses and phone numbers, and mask them
for logs and audit text.

Phones are stored and compared in E.164 (`+15550001014`), parsed with `phonenumbers` in the
person's country (else a default region); e-mail addresses are validated with
`email-validator` (syntax only, no DNS) and compared lower-case.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

DEFAULT_PHONE_REGION = "US"
"""Region used to read phone numbers written without a `+` country code, when neither the
person's country nor the settings say otherwise."""


def normalize_phone(raw: str, region: str | None = DEFAULT_PHONE_REGION) -> str:
    """The number in E.164; `ValueError` (with a reason a person can act on) if it is not one.

    A number is accepted when it has a possible length for its country; whether the range is
    assigned is not checked (fictional `555` numbers are fine)."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, (region or DEFAULT_PHONE_REGION).upper())
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} is not a phone number ({exc._msg})") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"phone {raw!r} does not have a possible length for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(raw: str, region: str | None = DEFAULT_PHONE_REGION) -> str:
    """The form phone numbers are compared in: E.164 when it parses, else the digits and `+`
    (so a malformed stored number still matches itself)."""
    try:
        return normalize_phone(raw, region)
    except ValueError:
        return "".join(ch for ch in raw if ch.isdigit() or ch == "+")


def normalize_email(raw: str) -> str:
    """The address with its domain normalised; `ValueError` if it is not a valid address.

    Rejects line breaks and other characters that could inject headers."""
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"e-mail {raw!r} is not a valid address: {exc}") from exc


def mask_email(address: str) -> str:
    """`john@example.com` → `j***@example.com`."""
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """`+15550001014` → `***1014` (the last four digits)."""
    digits = [ch for ch in number if ch.isdigit()]
    return "***" + "".join(digits[-4:])


_EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"\+\d[\d ().-]{6,}\d")
"""Phone numbers with their `+` country code (how they are stored); bare digit runs such as
dates and ids are left alone."""


def mask_text(text: str) -> str:
    """Every e-mail address and phone number in free text masked (see `mask_email`,
    `mask_phone`); the rest unchanged."""
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)
