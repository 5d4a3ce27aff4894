"""FastAPI dependencies, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from graphs.runtime import Deps


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


AppDeps = Annotated[Deps, Depends(_deps)]
"""The application's runtime dependencies (database, brand kit, LLM, rule store)."""
