"""What every workspace page shares: the templates, rendering with the user and CSRF token,
and marking a finding's span in text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from api.auth import CSRF_FIELD

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
"""The Jinja2 templates of the pages (autoescaped)."""


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `pages/{name}` with the logged-in user and the session's CSRF token."""
    user = getattr(request.state, "user", None)
    csrf = getattr(request.state, "csrf", "")
    return templates.TemplateResponse(
        request,
        f"pages/{name}",
        {"user": user, "csrf": csrf, "csrf_field": CSRF_FIELD, **context},
        status_code=status,
    )


def highlight(text: str, spans: list[str]) -> Markup:
    """The text, escaped, with each finding's span marked."""
    out = escape(text)
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        out = Markup(out.replace(escape(span), Markup("<mark>%s</mark>") % span))
    return out
