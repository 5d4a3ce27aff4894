"""Tracking links and the open pixel (public, no login): `GET /c/{token}` records a click and
redirects to the original URL on one of the brand's domains; `GET /o/{token}.gif` records an
open and answers a transparent 1×1 GIF whatever the token."""

from __future__ import annotations

import base64

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from api.deps import AppDeps
from core.db import utcnow
from tools.delivery.tracking import RefusedLink, follow_click, record_open

router = APIRouter(tags=["tracking"])

_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/c/{token}", response_model=None)
def click(token: str, deps: AppDeps) -> RedirectResponse | PlainTextResponse:
    """Record the click and redirect (302); a damaged or foreign link never redirects."""
    try:
        url = follow_click(deps.db, deps.settings, token, deps.kit.allowed_link_domains, utcnow())
    except RefusedLink as exc:
        return PlainTextResponse(
            f"This link is not valid ({exc}). Visit {deps.kit.site_url} instead.",
            status_code=400,
        )
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)


@router.get("/o/{token}.gif")
def open_pixel(token: str, deps: AppDeps) -> Response:
    """Record an open (a weak signal) and return the pixel."""
    record_open(deps.db, deps.settings, token, utcnow())
    return Response(content=_GIF, media_type="image/gif", headers=_NO_STORE)
