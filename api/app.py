"""The FastAPI application: briefs, campaigns and approvals. OpenAPI docs at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.routes import (
    approvals,
    briefs,
    campaign_controls,
    campaigns,
    guardrails,
    unsubscribe,
    webhooks,
)
from core.campaigns import NotFound
from core.settings import Settings
from graphs.runtime import Deps, build_deps


def create_app(settings: Settings | None = None, *, deps: Deps | None = None) -> FastAPI:
    """Build the app; `deps` may be given (tests), otherwise it is built from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.deps = deps or build_deps(settings or Settings())
        yield
        app.state.deps.db.dispose()

    app = FastAPI(
        title="autocmo",
        version="0.1.0",
        description=(
            "Autonomous multi-agent marketing inside guardrails a human owns: submit a brief, "
            "read campaigns with their measured lift, and decide what waits for approval."
        ),
        lifespan=lifespan,
    )

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    app.include_router(briefs.router, prefix="/api/v1")
    app.include_router(campaigns.router, prefix="/api/v1")
    app.include_router(campaign_controls.router, prefix="/api/v1")
    app.include_router(approvals.router, prefix="/api/v1")
    app.include_router(guardrails.router, prefix="/api/v1")
    app.include_router(unsubscribe.router)
    app.include_router(webhooks.router)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness check."""
        return {"status": "ok"}

    return app
