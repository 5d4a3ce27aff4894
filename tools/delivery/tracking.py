"""Click and open tracking for e-mails.

Links in a sent e-mail go through `{base}/c/{token}`: the token is signed (see `tokens.py`) and
names the message and the original URL, so a click is recorded for that message and person and
the reader lands where the link pointed, only ever on one of the brand's allowed domains. An
optional 1×1 pixel `{base}/o/{token}.gif` records opens, a weak signal (mail scanners and
privacy proxies open mail nobody reads).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from core.db import Database
from core.models import OutcomeKind
from core.outcomes import record_message_outcome
from core.settings import Settings
from tools.delivery.tokens import InvalidToken, sign_token, verify_token

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCT = ".,;:!?)]}"


def click_token(settings: Settings, message_id: str, url: str) -> str:
    """The signed token of a click on `url` in message `message_id`."""
    return sign_token(settings.secret_key, {"p": "click", "m": message_id, "u": url})


def click_url(settings: Settings, message_id: str, url: str) -> str:
    """The tracked form of `url` in message `message_id`: `{base}/c/{token}`."""
    return f"{settings.public_base_url.rstrip('/')}/c/{click_token(settings, message_id, url)}"


def open_token(settings: Settings, message_id: str) -> str:
    """The signed token of the open pixel of message `message_id`."""
    return sign_token(settings.secret_key, {"p": "open", "m": message_id})


def open_pixel_url(settings: Settings, message_id: str) -> str:
    """The open pixel of message `message_id`: `{base}/o/{token}.gif`."""
    return f"{settings.public_base_url.rstrip('/')}/o/{open_token(settings, message_id)}.gif"


def track_links(settings: Settings, message_id: str, text: str) -> str:
    """`text` with every http(s) link replaced by its tracked form; our own links (unsubscribe,
    already tracked) are left alone."""
    own = settings.public_base_url.rstrip("/")

    def _swap(m: re.Match[str]) -> str:
        url = m.group(0)
        stripped = url.rstrip(_TRAILING_PUNCT)
        if stripped.startswith(own):
            return url
        return click_url(settings, message_id, stripped) + url[len(stripped) :]

    return _URL.sub(_swap, text)


def with_open_pixel(html_doc: str, pixel_url: str) -> str:
    """An HTML document with the open pixel as the last element of its body."""
    img = f'<img src="{pixel_url}" width="1" height="1" alt="" style="display:none">'
    at = html_doc.rfind("</body>")
    return f"{html_doc[:at]}{img}\n{html_doc[at:]}" if at >= 0 else html_doc + img


def link_allowed(url: str, domains: Sequence[str]) -> bool:
    """True for an http(s) URL on one of `domains` (sub-domains included)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return False
    return any(host == d or host.endswith(f".{d}") for d in domains)


class RefusedLink(ValueError):
    """A tracking token that must not redirect: tampered, foreign, or off the brand's domains."""


def follow_click(
    db: Database, settings: Settings, token: str, domains: Sequence[str], at: datetime
) -> str:
    """Record the click a token stands for and return where to send the reader.

    Raises `RefusedLink` (nothing recorded) for a token that does not verify or whose URL is
    not on `domains`. A second click on the same message is not recorded again.
    """
    try:
        data = verify_token(settings.secret_key, token)
    except InvalidToken as exc:
        raise RefusedLink(str(exc)) from exc
    url, message_id = data.get("u", ""), data.get("m", "")
    if data.get("p") != "click" or not url or not message_id:
        raise RefusedLink("this is not a click-tracking link")
    if not link_allowed(url, domains):
        raise RefusedLink(f"{urlsplit(url).hostname or url!r} is not one of the brand's domains")
    record_message_outcome(db, message_id, OutcomeKind.CLICKED, at)
    return url


def record_open(db: Database, settings: Settings, token: str, at: datetime) -> bool:
    """Record the open an open-pixel token stands for; False for a bad token or a repeat."""
    try:
        data = verify_token(settings.secret_key, token)
    except InvalidToken:
        return False
    if data.get("p") != "open" or not data.get("m"):
        return False
    return record_message_outcome(db, data["m"], OutcomeKind.OPENED, at)
