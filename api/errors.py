"""Errors as a person reads them: a page request (a browser's form or link, an htmx request)
that fails gets an HTML page with the message and a way back; the JSON API keeps JSON."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from api.rendering import render

_TITLES = {
    400: "That request was not understood",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "That cannot be done now",
    413: "Too large",
    422: "Please check what you entered",
    429: "Too many attempts",
}


def wants_html(request: Request) -> bool:
    """True for the workspace's pages: a browser asking for HTML or an htmx request, outside
    the JSON API (`/api/`)."""
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("hx-request") == "true"


def error_page(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    """The error as a calm page: what happened, what to do, and a way back."""
    back = request.headers.get("referer", "")
    host = f"{request.url.scheme}://{request.url.netloc}/"
    resp = render(
        request,
        "chat/error.html",
        status=status,
        title=_TITLES.get(status, "Something went wrong"),
        detail=detail,
        back=back if back.startswith(host) else "/",
    )
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def install_error_pages(app: FastAPI) -> None:
    """Answer page requests that fail (403, 409, 422, …) with an HTML page, others as before."""

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if wants_html(request):
            return error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_html(request):
            problems = "; ".join(
                f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors() if e.get("loc")
            )
            return error_page(request, 422, problems or "The form was incomplete.")
        return await request_validation_exception_handler(request, exc)
