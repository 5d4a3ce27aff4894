"""The HTML part of a marketing e-mail, from the brand's design and the message's text.

The text part is what is written, checked and stored; the HTML part is built from it at send
time (so both always say the same thing: same copy, same unsubscribe link, same postal
address) inside a responsive single-column layout in the brand's colours, with its logo.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

_HEX = r"^#(?:[0-9a-fA-F]{3}){1,2}$"
_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCT = ".,;:!?)]}"
FOOTER_MARK = "\n--\n"
"""Where the system's compliance footer starts in a text body (see brand_guardrails.footer)."""


class EmailDesign(BaseModel):
    """A brand's e-mail look: colours, logo and font (the layout is the system's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    logo_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    """HTTPS URL of the logo shown in the header band; the brand name when absent."""
    primary_color: str = Field(default="#2f5233", pattern=_HEX)
    """Header band colour."""
    background_color: str = Field(default="#f4f1ea", pattern=_HEX)
    """Page background around the message."""
    text_color: str = Field(default="#222222", pattern=_HEX)
    """Body text colour."""
    link_color: str = Field(default="#2f5233", pattern=_HEX)
    """Link colour."""
    footer_color: str = Field(default="#666666", pattern=_HEX)
    """Footer text colour."""
    font_family: str = Field(default="Helvetica, Arial, sans-serif", pattern=r"^[\w ,'\-]+$")
    """CSS font stack."""


@lru_cache(maxsize=1)
def _template() -> Template:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parent),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("email.html.j2")


def _linkify(text: str) -> Markup:
    """Escaped text with its URLs as links and its line breaks as <br>."""
    out: list[str] = []
    pos = 0
    for m in _URL.finditer(text):
        url = m.group(0)
        tail = ""
        while url and url[-1] in _TRAILING_PUNCT:
            tail = url[-1] + tail
            url = url[:-1]
        out.append(str(escape(text[pos : m.start()])))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>{escape(tail)}')
        pos = m.start() + len(url) + len(tail)
    out.append(str(escape(text[pos:])))
    return Markup("".join(out).replace("\n", "<br>\n"))


def branded_html(text: str, design: EmailDesign, *, brand: str, title: str) -> str:
    """The HTML document for a text e-mail body: its paragraphs, then the footer lines (after
    the `--` line) in small print, in `design`'s colours; everything from the text is escaped."""
    text = text.replace("\r\n", "\n").strip()
    copy, _, footer = text.partition(FOOTER_MARK)
    paragraphs = [_linkify(p.strip()) for p in re.split(r"\n\s*\n", copy) if p.strip()]
    lines = [_linkify(line.strip()) for line in footer.splitlines() if line.strip()]
    return _template().render(
        d=design, brand=brand, title=title, paragraphs=paragraphs, footer=lines
    )
