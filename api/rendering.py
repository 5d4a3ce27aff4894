"""Rendering the workspace's Jinja2 templates with what every page needs (the user, the CSRF
token), for the page routes and the error pages; and marking a finding's span in text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from api.auth import CSRF_FIELD

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
"""The workspace templates (`pages/`, `chat/`)."""


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered for the logged-in user (if any), with the session's CSRF token."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": getattr(request.state, "user", None),
            "csrf": getattr(request.state, "csrf", ""),
            "csrf_field": CSRF_FIELD,
            **context,
        },
        status_code=status,
    )


def highlight(text: str, spans: list[str]) -> Markup:
    """The text, escaped, with each finding's span marked."""
    out = escape(text)
    for span in sorted({s for s in spans if s}, key=len, reverse=True):
        out = Markup(out.replace(escape(span), Markup("<mark>%s</mark>") % span))
    return out
