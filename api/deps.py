"""FastAPI dependencies, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.auth import current_user
from core.users import User
from graphs.runtime import Deps


async def _deps(request: Request) -> Deps:
    # async: a plain attribute read, so FastAPI need not hop to its thread pool for it
    deps: Deps = request.app.state.deps
    return deps


AppDeps = Annotated[Deps, Depends(_deps)]
"""The application's runtime dependencies (database, brand kit, LLM, rule store)."""


def _needs(permission: str, what: str) -> Callable[[Request], User]:
    def check(request: Request) -> User:
        user = current_user(request)
        if not user.may(permission):
            raise HTTPException(
                403, f"{user.name} is a {user.role.value}; {what}. Ask an admin for the role."
            )
        return user

    return check


Reader = Annotated[User, Depends(_needs("read", "reading needs a login"))]
"""Any logged-in user (viewer and up)."""
Writer = Annotated[
    User, Depends(_needs("write", "briefs, drafts and pausing need a marketer, approver or admin"))
]
"""A user who may write briefs and change campaigns (marketer, approver, admin)."""
Decider = Annotated[User, Depends(_needs("decide", "decisions need an approver or admin"))]
"""A user who may approve or reject (approver, admin); four-eyes is checked on the decision."""
Admin = Annotated[User, Depends(_needs("admin", "this needs an admin"))]
"""An admin (users, tokens, sources, brand kit)."""
