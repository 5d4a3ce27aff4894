"""The marketer's workspace: server-rendered pages (Jinja2 + vendored htmx) for logging in,
the campaigns list and the approval queue with rendered previews (the brief chat is in `chat`;
campaign dashboards, the check form and the admin pages are in `dashboard_pages`,
`check_pages` and `admin_pages`).

Every page except /login needs a session (the app-wide gate); every form carries the
session's CSRF token; the decider is the logged-in user.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from agents.content import RenderError, preview_contexts, render_message
from agents.planner import offer_words
from api.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    new_session_cookie,
    set_session_cookie,
)
from api.deps import AppDeps, Decider, Reader
from api.rendering import highlight as _highlight
from api.rendering import render as _page
from api.revision_view import describe_revision
from api.routes.approvals import decide_as
from core import campaigns as repo
from core.models import Channel, Finding, Plan, VariantTemplate
from core.users import authenticate
from tools.sms_encoding import segments as sms_segments

router = APIRouter(include_in_schema=False)
_PREVIEW_UNSUBSCRIBE = "https://example.invalid/u/preview"


def _safe_next(target: str) -> str:
    """Only same-site paths, so the login form cannot redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form, with a double-submit CSRF cookie."""
    token = secrets.token_urlsafe(24)
    resp = _page(request, "pages/login.html", next=_safe_next(next), login_csrf=token, error=None)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return resp


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    deps: AppDeps,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password (rate limited per address and name) and start a session."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        raise HTTPException(403, "The login form expired: reload the page and sign in again.")
    limiter = request.app.state.login_limiter
    client = request.client.host if request.client else "?"
    wait = limiter.retry_after(client, username)
    if wait:
        resp = _page(
            request,
            "pages/login.html",
            status=429,
            next=_safe_next(next),
            login_csrf=csrf_token,
            error=f"Too many failed attempts. Try again in {wait // 60 + 1} minutes.",
        )
        resp.headers["Retry-After"] = str(wait)
        return resp
    user = await run_in_threadpool(authenticate, deps.db, username.strip(), password)
    if user is None:
        limiter.failed(client, username)
        return _page(
            request,
            "pages/login.html",
            status=401,
            next=_safe_next(next),
            login_csrf=csrf_token,
            error="That name and password do not match.",
        )
    limiter.succeeded(client, username)
    done = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(done, deps.settings, new_session_cookie(deps.settings, user))
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return done


@router.post("/logout")
def logout(_user: Reader) -> Response:
    """End the session."""
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/", response_class=HTMLResponse)
def campaigns_page(request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """All campaigns with their status."""
    items = repo.list_campaigns(deps.db)
    pending = len(repo.list_approvals(deps.db))
    return _page(request, "pages/campaigns.html", campaigns=items, pending=pending)


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """The approval queue."""
    return _page(request, "pages/approvals.html", approvals=repo.list_approvals(deps.db))


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
def approval_page(approval_id: str, request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """One approval with what an approver needs: the plan in words, sizes, the offer, the
    messages rendered for sample people, and the guardrail findings highlighted."""
    appr = repo.get_approval(deps.db, approval_id)
    camp = repo.get_campaign(deps.db, appr.campaign_id)
    ev = appr.evidence
    plan = Plan.model_validate(ev["plan"]) if ev.get("plan") else None
    variants = [VariantTemplate.model_validate(v) for v in ev.get("variants", [])]
    findings = [Finding.model_validate(f) for f in ev.get("warnings", [])]
    previews = _previews(deps, plan, variants, findings) if plan else []
    revision = None
    if appr.kind == "revision":
        revision = describe_revision(
            repo.approval_payload(deps.db, approval_id),
            repo.latest_plan(deps.db, appr.campaign_id),
            repo.load_variants(deps.db, appr.campaign_id),
        )
    return _page(
        request,
        "pages/approval.html",
        approval=appr,
        campaign=camp,
        plan=plan,
        previews=previews,
        findings=findings,
        audience_size=ev.get("audience_size"),
        holdout_size=ev.get("holdout_size"),
        offer=_offer_words(plan),
        revision=revision,
        error=None,
    )


@router.post("/approvals/{approval_id}/decide", response_class=HTMLResponse)
async def approval_decide(
    approval_id: str,
    request: Request,
    deps: AppDeps,
    user: Decider,
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve or reject as the logged-in user (four-eyes applies)."""
    res = await run_in_threadpool(
        decide_as,
        deps,
        user,
        approval_id,
        approved=decision == "approve",
        comment=comment.strip() or None,
    )
    return RedirectResponse(
        f"/campaigns/{res.approval.campaign_id}?notice={quote(res.effect)}", status_code=303
    )


def _offer_words(plan: Plan | None) -> str:
    return offer_words(plan.objective.offer) if plan else ""


def _previews(
    deps: AppDeps, plan: Plan, variants: list[VariantTemplate], findings: list[Finding]
) -> list[dict[str, Any]]:
    """Each variant rendered for the sample people, as they will receive it."""
    spans = [f.span or "" for f in findings]
    out: list[dict[str, Any]] = []
    for v in variants:
        for ctx in preview_contexts(deps.kit, plan.objective):
            person = ctx.get("first_name") or "someone without a usable first name"
            try:
                msg = render_message(
                    deps.kit,
                    v,
                    ctx,
                    unsubscribe_url=_PREVIEW_UNSUBSCRIBE,
                    offer=plan.objective.offer,
                )
            except RenderError as exc:
                out.append({"variant": v, "person": person, "error": str(exc)})
                continue
            out.append(
                {
                    "variant": v,
                    "person": person,
                    "subject": _highlight(msg.subject or "", spans),
                    "body": _highlight(msg.body, spans),
                    "segments": sms_segments(msg.body)[0] if v.channel == Channel.SMS else None,
                    "error": None,
                }
            )
    return out
