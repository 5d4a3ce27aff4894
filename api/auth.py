"""Who is calling: API bearer tokens, browser sessions (signed cookies with CSRF protection),
the login rate limit, and the list of what is public.

Every route needs a logged-in user unless its path starts with one of `PUBLIC_PREFIXES`: the
gate (`require_login`) is an app-wide dependency, so a new router is protected by default and a
public one says so here, where a reviewer (and `tests/integration/test_auth.py`) can see it.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from threading import Lock

from fastapi import HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from core.settings import Settings
from core.users import User, get_user_by_id, user_for_token
from graphs.runtime import Deps
from tools.delivery.tokens import InvalidToken, sign_token, verify_token

PUBLIC_PREFIXES: tuple[str, ...] = (
    "/healthz",  # liveness
    "/u/",  # unsubscribe pages (signed links)
    "/webhooks/",  # inbound webhooks, each verifies its own signature
    "/v1/",  # event ingestion (Segment's HTTP API), authenticated by a source's write key
    "/c/",  # click tracking redirects (signed links)
    "/o/",  # open pixel (signed links)
    "/login",  # the login form
    "/static/",  # vendored CSS and JavaScript
    "/docs",  # Swagger UI (assets served locally)
    "/openapi.json",  # the schema (no data)
)
"""Path prefixes reachable without a login. A router that must be public (signed links, event
ingestion with a write key) adds its prefix here; everything else needs a login."""

SESSION_COOKIE = "autocmo_session"
"""Browser session cookie: signed, HttpOnly, SameSite=Lax."""
LOGIN_CSRF_COOKIE = "autocmo_login_csrf"
"""Double-submit CSRF cookie of the login form (before there is a session)."""
CSRF_FIELD = "csrf_token"
"""Form field carrying the CSRF token (htmx sends it as the `X-CSRF-Token` header)."""
SESSION_SECONDS = 12 * 3600
"""How long a browser session lasts."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No valid credentials; browsers are sent to the login page, API clients get 401."""


class Session:
    """A verified browser session: the user and the CSRF token bound to it."""

    def __init__(self, user: User, csrf: str) -> None:
        self.user = user
        """Who is logged in."""
        self.csrf = csrf
        """The token every form of this session must carry."""


def is_public(path: str) -> bool:
    """True when `path` is reachable without a login: a prefix ending in `/` covers what is
    under it; one without covers that exact path and what is under it (`/docs`, `/docs/…`)."""
    return any(
        path == p.rstrip("/") or path.startswith(p if p.endswith("/") else p + "/")
        for p in PUBLIC_PREFIXES
    )


def new_session_cookie(settings: Settings, user: User) -> str:
    """A signed session cookie value for a user, with a fresh CSRF token."""
    return sign_token(
        settings.secret_key,
        {
            "p": "session",
            "uid": user.id,
            "exp": str(int(time.time()) + SESSION_SECONDS),
            "csrf": secrets.token_urlsafe(24),
        },
    )


def set_session_cookie(response: Response, settings: Settings, value: str) -> None:
    """Set the session cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/",
    )


def read_session(deps: Deps, request: Request) -> Session | None:
    """The session of the request's cookie, if it is valid, unexpired and its user active."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = verify_token(deps.settings.verification_keys, raw)
    except InvalidToken:
        return None
    if data.get("p") != "session" or not data.get("exp", "").isdigit():
        return None
    if int(data["exp"]) < time.time():
        return None
    user = get_user_by_id(deps.db, data.get("uid", ""))
    return Session(user, data.get("csrf", "")) if user else None


async def require_login(request: Request) -> None:
    """App-wide gate: public paths pass; everything else needs a bearer token or a session,
    and a session's unsafe requests need its CSRF token. Sets `request.state.user`."""
    if is_public(request.url.path):
        return
    deps: Deps = request.app.state.deps
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        user = None
        if scheme.lower() == "bearer":
            user = await run_in_threadpool(user_for_token, deps.db, token.strip())
        if user is None:
            raise HTTPException(
                401,
                "The bearer token is not valid (revoked, mistyped or not a token). Create one "
                "with `autocmo tokens create --user NAME`.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.user = user
        return
    session = await run_in_threadpool(read_session, deps, request)
    if session is None:
        raise LoginRequired()
    if request.method not in _SAFE_METHODS:
        given = request.headers.get("x-csrf-token", "")
        if not given and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            given = str((await request.form()).get(CSRF_FIELD, ""))
        if not given or not secrets.compare_digest(given.encode(), session.csrf.encode()):
            raise HTTPException(
                403, "The form's CSRF token is missing or stale: reload the page and try again."
            )
    request.state.user = session.user
    request.state.csrf = session.csrf


def current_user(request: Request) -> User:
    """The logged-in user (set by `require_login`)."""
    user: User | None = getattr(request.state, "user", None)
    if user is None:
        raise LoginRequired()
    return user


class LoginLimiter:
    """Failed logins per client address and user name in a sliding window (in memory, per
    process): after `limit` failures, further attempts are refused until the window passes."""

    def __init__(self, limit: int = 5, window_s: float = 900.0) -> None:
        self.limit = limit
        """Failures allowed per window."""
        self.window_s = window_s
        """Window length in seconds."""
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def retry_after(self, client: str, name: str) -> int:
        """Seconds to wait before another attempt, 0 when one is allowed now."""
        with self._lock:
            q = self._prune((client, name.lower()))
            if len(q) < self.limit:
                return 0
            return int(q[0] + self.window_s - time.monotonic()) + 1

    def failed(self, client: str, name: str) -> None:
        """Record a failed attempt."""
        with self._lock:
            self._prune((client, name.lower())).append(time.monotonic())

    def succeeded(self, client: str, name: str) -> None:
        """Forget the failures after a successful login."""
        with self._lock:
            self._failures.pop((client, name.lower()), None)

    def _prune(self, key: tuple[str, str]) -> deque[float]:
        q = self._failures[key]
        cutoff = time.monotonic() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        return q
