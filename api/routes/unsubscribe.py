"""Unsubscribe links: a confirmation page (GET) and the one-click opt-out (POST, RFC 8058).

GET never unsubscribes by itself, because mail scanners open links; the page's button and a
mail client's one-click POST record the opt-out at once. Consent is re-checked at send time, so
an opt-out wins over anything already scheduled.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import AppDeps
from api.rendering import templates
from core.customers import withdraw_consent_for_address_of
from core.db import utcnow
from core.models import Channel
from tools.delivery.tokens import InvalidToken, verify_token

router = APIRouter(tags=["unsubscribe"])
_LABELS = {"email": "e-mails", "sms": "text messages", "push": "notifications"}


def _page(
    request: Request,
    deps: AppDeps,
    *,
    title: str,
    message: str,
    status: int = 200,
    confirm: bool = False,
    channel: str = "email",
) -> HTMLResponse:
    kit = deps.kit
    return templates.TemplateResponse(
        request,
        "unsubscribe.html",
        {
            "title": title,
            "message": message,
            "confirm": confirm,
            "channel_label": _LABELS.get(channel, channel),
            "brand_name": kit.name,
            "postal_address": kit.postal_address.replace("\n", ", "),
        },
        status_code=status,
    )


def _payload(deps: AppDeps, token: str) -> dict[str, str] | None:
    try:
        data = verify_token(deps.settings.verification_keys, token)
    except InvalidToken:
        return None
    known = data.get("channel", "email") in {c.value for c in Channel}
    return data if data.get("p") == "unsubscribe" and data.get("customer_id") and known else None


def _invalid(request: Request, deps: AppDeps) -> HTMLResponse:
    return _page(
        request,
        deps,
        title="This link is not valid",
        message="The unsubscribe link is damaged or was not issued by us. Reply to any of our "
        "messages and we will remove you by hand.",
        status=400,
    )


@router.get("/u/{token}", response_class=HTMLResponse)
def confirm_page(token: str, request: Request, deps: AppDeps) -> HTMLResponse:
    """Ask the person to confirm; nothing changes until they press the button."""
    data = _payload(deps, token)
    if data is None:
        return _invalid(request, deps)
    channel = data.get("channel", "email")
    return _page(
        request,
        deps,
        title="Unsubscribe",
        message=f"Press the button to stop receiving {_LABELS.get(channel, channel)} "
        f"from {deps.kit.name}.",
        confirm=True,
        channel=channel,
    )


@router.post("/u/{token}", response_class=HTMLResponse)
def one_click(token: str, request: Request, deps: AppDeps) -> HTMLResponse:
    """Record the opt-out at once (the page's button, or a mail client's RFC 8058 POST)."""
    data = _payload(deps, token)
    if data is None:
        return _invalid(request, deps)
    channel = Channel(data.get("channel", "email"))
    try:
        withdraw_consent_for_address_of(
            deps.db, data["customer_id"], channel, "unsubscribe_link", utcnow()
        )
    except ValueError:
        return _page(
            request,
            deps,
            title="We could not find you",
            message="We have no record of this address any more; you will get nothing from us.",
            status=404,
        )
    return _page(
        request,
        deps,
        title="You are unsubscribed",
        message=f"You will not receive {_LABELS.get(channel.value, channel.value)} from "
        f"{deps.kit.name} any more. This takes effect at once, also for "
        "messages that were already scheduled.",
        channel=channel.value,
    )
