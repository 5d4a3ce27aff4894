"""Admin pages: users (list, add with a role, deactivate) and API tokens (create, shown once;
revoke). Admin only; every form carries the session's CSRF token (checked by the app-wide
gate); every change is in the audit trail, through the same repository calls as
`autocmo users add` and `autocmo tokens create`."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, AppDeps
from api.rendering import render
from core.audit import latest_decisions_without_campaign
from core.users import (
    ACCOUNT_ACTIONS,
    MIN_PASSWORD_LENGTH,
    Role,
    UserError,
    create_token,
    create_user,
    deactivate_user,
    list_tokens,
    list_users,
    revoke_token,
)
from graphs.runtime import Deps

router = APIRouter(include_in_schema=False)


def _users_page(request: Request, deps: Deps, status: int = 200, **context: object) -> HTMLResponse:
    return render(
        request,
        "pages/admin_users.html",
        status=status,
        users=list_users(deps.db),
        roles=[r.value for r in Role],
        min_password=MIN_PASSWORD_LENGTH,
        changes=latest_decisions_without_campaign(deps.db, ACCOUNT_ACTIONS, limit=15),
        **{"notice": "", "error": None, "form": {}, **context},
    )


def _tokens_page(
    request: Request, deps: Deps, status: int = 200, **context: object
) -> HTMLResponse:
    resp = render(
        request,
        "pages/admin_tokens.html",
        status=status,
        tokens=list_tokens(deps.db),
        users=list_users(deps.db),
        **{"notice": "", "error": None, "new_token": None, **context},
    )
    resp.headers["Cache-Control"] = "no-store"  # a new token is on it once
    return resp


def _back(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?notice={quote(notice)}", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, deps: AppDeps, _admin: Admin, notice: str = "") -> HTMLResponse:
    """Who may use the workspace, with their roles; add or deactivate."""
    return _users_page(request, deps, notice=notice[:300])


@router.post("/admin/users", response_class=HTMLResponse)
async def add_user(
    request: Request,
    deps: AppDeps,
    admin: Admin,
    name: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Add a user with a role and a first password (as `autocmo users add`)."""
    try:
        user = await run_in_threadpool(
            create_user, deps.db, name.strip(), role, password, by=admin.name
        )
    except UserError as exc:
        return _users_page(
            request, deps, status=422, error=str(exc), form={"name": name, "role": role}
        )
    return _back("/admin/users", f"Added {user.name} as {user.role.value}.")


@router.post("/admin/users/{name}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, name: str, deps: AppDeps, admin: Admin) -> Response:
    """Deactivate a user: their sessions and tokens stop working at once."""
    try:
        user = deactivate_user(deps.db, name, by=admin.name)
    except UserError as exc:
        return _users_page(request, deps, status=409, error=str(exc))
    return _back("/admin/users", f"Deactivated {user.name}; their sessions and tokens are void.")


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, deps: AppDeps, _admin: Admin, notice: str = "") -> HTMLResponse:
    """API tokens: who has one, what for, when last used; create or revoke."""
    return _tokens_page(request, deps, notice=notice[:300])


@router.post("/admin/tokens", response_class=HTMLResponse)
def new_token(
    request: Request,
    deps: AppDeps,
    admin: Admin,
    user: Annotated[str, Form(max_length=200)],
    label: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    """Create a token (as `autocmo tokens create`) and show it once, on this response only."""
    try:
        token = create_token(deps.db, user, label.strip(), by=admin.name)
    except UserError as exc:
        return _tokens_page(request, deps, status=422, error=str(exc))
    return _tokens_page(request, deps, new_token={"user": user, "token": token})


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, token_id: str, deps: AppDeps, admin: Admin) -> Response:
    """Revoke one token: requests with it get 401 from now on."""
    try:
        tok = revoke_token(deps.db, token_id, by=admin.name)
    except UserError as exc:
        return _tokens_page(request, deps, status=404, error=str(exc))
    return _back("/admin/tokens", f"Revoked {tok.user}'s token {tok.label or tok.id}.")
