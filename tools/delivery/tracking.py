"""Click and open tracking for e-mails and SMS.

Links in a sent e-mail go through `{base}/c/{token}`: the token is signed (see `tokens.py`) and
names the message and the original URL, so a click is recorded for that message and person and
the reader lands where the link pointed, only ever on one of the brand's allowed domains. An
optional 1×1 pixel `{base}/o/{token}.gif` records opens, a weak signal (mail scanners and
privacy proxies open mail nobody reads).

SMS is billed per segment, so its links get a short token instead: `<message id>.<n>.<mac>`
names the message and the position of the link in its stored body (the redirect reads the URL
from there), signed with a truncated HMAC (64 bits). A link is shortened only when it is on one
of the brand's domains and only while the text does not need more segments than the original.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from core.db import Database
from core.messages import message_body
from core.models import OutcomeKind
from core.outcomes import record_message_outcome
from core.settings import Settings
from tools.delivery.tokens import InvalidToken, sign_token, verify_token
from tools.sms_encoding import segments

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


def track_links(
    settings: Settings, message_id: str, text: str, domains: Sequence[str] | None = None
) -> str:
    """`text` with every http(s) link replaced by its tracked form; our own links (unsubscribe,
    already tracked) are left alone, and so are links off `domains` when given (the redirect
    would refuse them)."""
    own = settings.public_base_url.rstrip("/")

    def _swap(m: re.Match[str]) -> str:
        url = m.group(0)
        stripped = url.rstrip(_TRAILING_PUNCT)
        if stripped.startswith(own) or (
            domains is not None and not link_allowed(stripped, domains)
        ):
            return url
        return click_url(settings, message_id, stripped) + url[len(stripped) :]

    return _URL.sub(_swap, text)


def _links(text: str) -> list[re.Match[str]]:
    """The http(s) links of a text, in order (what a short token's position counts)."""
    return list(_URL.finditer(text))


def _short_mac(secret: str, message_id: str, index: int) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"sms-click:{message_id}:{index}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:8]).rstrip(b"=").decode("ascii")


def short_click_url(settings: Settings, message_id: str, index: int) -> str:
    """The short tracked form of the `index`-th link of message `message_id` (SMS)."""
    token = f"{message_id}.{index}.{_short_mac(settings.secret_key, message_id, index)}"
    return f"{settings.public_base_url.rstrip('/')}/c/{token}"


def track_sms_links(settings: Settings, message_id: str, text: str, domains: Sequence[str]) -> str:
    """`text` with its links on `domains` replaced by short tracked ones, each only if the text
    still fits in as many segments as the original (tracking never costs a segment)."""
    budget = segments(text)[0]
    own = settings.public_base_url.rstrip("/")
    out = text
    for index, m in reversed(list(enumerate(_links(text)))):  # from the end: offsets hold
        url = m.group(0).rstrip(_TRAILING_PUNCT)
        if url.startswith(own) or not link_allowed(url, domains):
            continue
        tried = (
            out[: m.start()]
            + short_click_url(settings, message_id, index)
            + out[m.start() + len(url) :]
        )
        if segments(tried)[0] <= budget:
            out = tried
    return out


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
    if token.count(".") >= 2:
        message_id, url = _short_link(db, settings, token)
    else:
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


def _short_link(db: Database, settings: Settings, token: str) -> tuple[str, str]:
    """(message id, URL) of a short SMS token: its signature checked, the URL read from the
    message's stored body; `RefusedLink` otherwise."""
    message_id, index, mac = token.rsplit(".", 2)
    if not index.isdigit() or not hmac.compare_digest(
        mac, _short_mac(settings.secret_key, message_id, int(index))
    ):
        raise RefusedLink("token signature does not match; the link was altered or is foreign")
    links = _links(message_body(db, message_id) or "")
    if int(index) >= len(links):
        raise RefusedLink("this link's message is unknown")
    return message_id, links[int(index)].group(0).rstrip(_TRAILING_PUNCT)


def record_open(db: Database, settings: Settings, token: str, at: datetime) -> bool:
    """Record the open an open-pixel token stands for; False for a bad token or a repeat."""
    try:
        data = verify_token(settings.secret_key, token)
    except InvalidToken:
        return False
    if data.get("p") != "open" or not data.get("m"):
        return False
    return record_message_outcome(db, data["m"], OutcomeKind.OPENED, at)
