"""The FastAPI application: briefs, campaigns and approvals, the workspace pages, and the public
links and webhooks. OpenAPI docs at /docs (Swagger UI served from the installed package)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from api.auth import LoginLimiter, LoginRequired, require_login
from api.errors import error_page, install_error_pages, wants_html
from api.limits import BodySizeLimit
from api.routes import (
    admin_pages,
    approvals,
    briefs,
    campaign_controls,
    campaigns,
    chat,
    check_pages,
    dashboard_pages,
    events,
    guardrails,
    pages,
    tracking,
    unsubscribe,
    webhooks,
)
from core.campaigns import NotFound
from core.db import InvalidData
from core.settings import Settings
from graphs.runtime import Deps, build_deps

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Vendored CSS and JavaScript of the workspace pages (nothing is loaded from a CDN)."""


def create_app(settings: Settings | None = None, *, deps: Deps | None = None) -> FastAPI:
    """Build the app; `deps` may be given (tests), otherwise it is built from settings."""
    settings = deps.settings if deps is not None else settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.deps = deps or build_deps(settings)
        yield
        app.state.deps.db.dispose()

    app = FastAPI(
        title="autocmo",
        version="0.1.0",
        description=(
            "Autonomous multi-agent marketing inside guardrails a human owns: submit a brief, "
            "read campaigns with their measured lift, and decide what waits for approval. "
            "Send `Authorization: Bearer <token>` (`autocmo tokens create --user NAME`)."
        ),
        lifespan=lifespan,
        dependencies=[Depends(require_login)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    install_error_pages(app)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if wants_html(request):
            return error_page(request, 404, str(exc))
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(InvalidData)
    async def _invalid(_request: Request, exc: InvalidData) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": str(exc)})

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse(
            status_code=401,
            content={
                "detail": "Log in first: send `Authorization: Bearer <token>` (create one with "
                "`autocmo tokens create --user NAME`) or sign in at /login."
            },
            headers={"WWW-Authenticate": "Bearer"},
        )

    # the high-volume public routes first: routes are matched in order, once per request
    app.include_router(events.router)
    app.include_router(tracking.router)
    app.include_router(briefs.router, prefix="/api/v1")
    app.include_router(campaigns.router, prefix="/api/v1")
    app.include_router(campaign_controls.router, prefix="/api/v1")
    app.include_router(approvals.router, prefix="/api/v1")
    app.include_router(guardrails.router, prefix="/api/v1")
    app.include_router(unsubscribe.router)
    app.include_router(webhooks.router)
    app.include_router(chat.router)
    app.include_router(pages.router)
    app.include_router(dashboard_pages.router)
    app.include_router(check_pages.router)
    app.include_router(admin_pages.router)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI with its assets served from this server (works offline)."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="autocmo API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok"}

    return app
