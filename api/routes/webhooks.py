"""Inbound webhooks: SMS keywords (STOP/START, Twilio-style) and delivery events (bounces,
complaints) that update consent and suppression. The dispatcher re-checks both at send time.

- `POST /webhooks/sms/inbound`: Twilio's form POST (`From`, `Body`, …). With
  `AUTOCMO_SMS_AUTH_TOKEN` set, `X-Twilio-Signature` must sign `AUTOCMO_PUBLIC_URL` + path +
  query and the form; without it, opt-outs are honoured but opt-ins (START) are refused,
  since anyone could forge them.
- `POST /webhooks/delivery-events`: JSON, signed like the outbound webhook channel
  (`X-Autocmo-Timestamp`, `X-Autocmo-Signature: sha256=…` HMAC-SHA256 with
  `AUTOCMO_SECRET_KEY` over `"{timestamp}.{body}"`).

Replays change nothing: each request is remembered (Twilio's `MessageSid`, or the signature of
a delivery-event batch) for the replay window, and a request seen before is acknowledged and
ignored. Consent changes apply in the order the events happened: an event older than the
consent on file (a delayed START after a later STOP) does not overwrite it.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import AppDeps
from core.contacts import mask_phone
from core.customers import set_consent_by_address, suppress
from core.db import utcnow
from core.models import Channel, OutcomeKind
from core.outcomes import record_message_outcome
from core.webhook_receipts import first_receipt, forget_receipt
from graphs.runtime import Deps
from tools.delivery.channels.sms import verify_twilio_signature
from tools.delivery.channels.webhook import verify_signature

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
_log = logging.getLogger(__name__)

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
    # the same request in the languages the copy is sent in (German, French, Portuguese,
    # Japanese): the SMS says "reply STOP" in the reader's language, and a reader who answers
    # in it has withdrawn consent just the same
    | {"STOPP", "ABMELDEN", "ARRET", "ARRÊT", "DESABONNER", "DÉSABONNER", "PARAR", "SAIR"}
    | {"CANCELAR", "停止", "配信停止", "ストップ"}
)
"""Inbound SMS bodies that withdraw SMS consent (Twilio's standard opt-out keywords and
their German, French, Portuguese and Japanese equivalents)."""
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
"""Inbound SMS bodies that grant SMS consent again."""
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SMS_REPLAY_WINDOW = timedelta(days=400)
"""How long an inbound SMS id is remembered (Twilio signatures carry no time, so a captured
request could be replayed at any time)."""
EVENTS_REPLAY_WINDOW = timedelta(minutes=15)
"""How long a delivery-event signature is remembered (signatures expire after 5 minutes)."""


class SMSKeywordResult(BaseModel):
    """What an inbound SMS did (logged; Twilio gets empty TwiML)."""

    keyword: str | None
    """The recognized keyword, or None."""
    action: Literal["opt_out", "opt_in", "none"]
    """What it did to SMS consent."""
    customers: list[str]
    """People whose consent changed (everyone with that number)."""


class DeliveryEvent(BaseModel):
    """A bounce or complaint reported by a provider (or a relay in front of one)."""

    type: Literal["bounce", "complaint"]
    """`bounce` (the address does not take mail) or `complaint` (marked as spam)."""
    address: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
    """The recipient address: e-mail address or E.164 number."""
    channel: Channel = Channel.EMAIL
    """Channel of the address."""
    bounce_type: Literal["hard", "soft"] = "hard"
    """For bounces: `hard` (permanent, suppresses) or `soft` (temporary, only recorded)."""
    message_id: str | None = None
    """The outbox message id or the provider's id (e.g. the `Message-ID` we sent)."""
    detail: str | None = Field(default=None, max_length=2000)
    """Provider's diagnostic, e.g. `550 5.1.1 user unknown`."""
    at: datetime | None = None
    """When it happened (default: when received)."""


class DeliveryEvents(BaseModel):
    """A batch of delivery events."""

    events: list[DeliveryEvent] = Field(min_length=1, max_length=1000)
    """The events, applied in order."""


class DeliveryEventsResult(BaseModel):
    """What a batch of delivery events changed."""

    suppressed: int = 0
    """Addresses suppressed (hard bounces and complaints)."""
    consent_withdrawn: int = 0
    """People whose consent a complaint withdrew."""
    outcomes_recorded: int = 0
    """`bounced` / `unsubscribed` outcomes attached to the message they refer to."""
    ignored: int = 0
    """Soft bounces (recorded as outcomes only, never suppressing)."""
    replayed: bool = False
    """True if this signed request was already applied; nothing was changed."""


@router.post("/sms/inbound", response_class=Response)
async def sms_inbound(request: Request, deps: AppDeps) -> Response:
    """Twilio-style inbound SMS: STOP-family keywords opt out, START/UNSTOP/YES opt back in,
    HELP and anything else change nothing."""
    raw = (await request.body()).decode("utf-8", "replace")
    pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True)
    params = dict(pairs)
    token = deps.settings.sms_auth_token
    if token:
        url = deps.settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not verify_twilio_signature(token, url, pairs, signature):
            raise HTTPException(
                403,
                "X-Twilio-Signature does not match. Check AUTOCMO_SMS_AUTH_TOKEN and that "
                f"AUTOCMO_PUBLIC_URL is the base of the URL Twilio calls (signed URL: {url}).",
            )
    sender, body = params.get("From", "").strip(), params.get("Body", "")
    if not sender:
        raise HTTPException(422, "inbound SMS without a From number")
    keyword = body.strip().upper().rstrip(".!。！")
    if keyword in OPT_IN_KEYWORDS and not token:
        raise HTTPException(
            403,
            "opt-in by SMS needs a verified sender: set AUTOCMO_SMS_AUTH_TOKEN so "
            "X-Twilio-Signature can be checked",
        )
    receipt = (
        params.get("MessageSid")
        or hashlib.sha256(
            (request.headers.get("X-Twilio-Signature", "") + raw).encode()
        ).hexdigest()
    )
    now = utcnow()
    fresh = await run_in_threadpool(
        first_receipt, deps.db, "sms_inbound", receipt, now, SMS_REPLAY_WINDOW
    )
    if not fresh:
        _log.warning("inbound SMS %s was already applied: replay ignored", receipt)
        return Response(_EMPTY_TWIML, media_type="text/xml")
    try:
        result = await run_in_threadpool(_apply_keyword, deps, sender, keyword, now)
    except Exception:
        await run_in_threadpool(forget_receipt, deps.db, "sms_inbound", receipt)
        raise
    _log.info("inbound SMS from %s: %s", mask_phone(sender), result.model_dump())
    return Response(_EMPTY_TWIML, media_type="text/xml")


def _apply_keyword(deps: Deps, sender: str, keyword: str, now: datetime) -> SMSKeywordResult:
    action: Literal["opt_out", "opt_in"]
    if keyword in OPT_OUT_KEYWORDS:
        granted, source, action = False, "unsubscribe_sms_keyword", "opt_out"
    elif keyword in OPT_IN_KEYWORDS:
        granted, source, action = True, "sms_keyword_start", "opt_in"
    else:
        return SMSKeywordResult(keyword=keyword or None, action="none", customers=[])
    ids = set_consent_by_address(
        deps.db, Channel.SMS, sender, granted, f"{source}:{keyword.lower()}", now, newer_only=True
    )
    return SMSKeywordResult(keyword=keyword, action=action, customers=ids)


@router.post("/delivery-events", response_model=DeliveryEventsResult)
async def delivery_events(request: Request, deps: AppDeps) -> DeliveryEventsResult:
    """Bounces and complaints: hard bounces and complaints suppress the address (the dispatcher
    skips it with `suppressed_bounce` / `suppressed_complaint`); a complaint also withdraws
    the person's consent for the channel."""
    raw = await request.body()
    ok = verify_signature(
        deps.settings.verification_keys,
        request.headers.get("X-Autocmo-Timestamp", ""),
        raw,
        request.headers.get("X-Autocmo-Signature", ""),
    )
    if not ok:
        raise HTTPException(
            401,
            "bad or stale signature: sign '{timestamp}.{body}' with HMAC-SHA256 and "
            "AUTOCMO_SECRET_KEY, send X-Autocmo-Timestamp (Unix seconds, within 5 minutes) "
            "and X-Autocmo-Signature: sha256=<hex>",
        )
    try:
        batch = DeliveryEvents.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(422, errors) from exc
    receipt = hashlib.sha256(request.headers["X-Autocmo-Signature"].encode()).hexdigest()
    fresh = await run_in_threadpool(
        first_receipt, deps.db, "delivery_events", receipt, utcnow(), EVENTS_REPLAY_WINDOW
    )
    if not fresh:
        return DeliveryEventsResult(replayed=True)
    try:
        return await run_in_threadpool(_apply_events, deps, batch)
    except Exception:
        await run_in_threadpool(forget_receipt, deps.db, "delivery_events", receipt)
        raise


def _apply_events(deps: Deps, batch: DeliveryEvents) -> DeliveryEventsResult:
    out = DeliveryEventsResult()
    now = utcnow()
    for ev in batch.events:  # every time is checked before anything is written
        if ev.at is not None and ev.at.tzinfo is None:
            raise HTTPException(422, f"event time {ev.at.isoformat()} needs a timezone (UTC)")
    for ev in batch.events:
        at = ev.at or now
        kind = OutcomeKind.BOUNCED if ev.type == "bounce" else OutcomeKind.UNSUBSCRIBED
        if ev.type == "bounce" and ev.bounce_type == "soft":
            out.ignored += 1
        else:
            reason = "hard_bounce" if ev.type == "bounce" else "complaint"
            suppress(deps.db, ev.channel, ev.address, reason, "delivery_webhook", at, ev.detail)
            out.suppressed += 1
        if ev.type == "complaint":
            withdrawn = set_consent_by_address(
                deps.db, ev.channel, ev.address, False, "complaint", at, newer_only=True
            )
            out.consent_withdrawn += len(withdrawn)
        if ev.message_id and record_message_outcome(deps.db, ev.message_id, kind, at):
            out.outcomes_recorded += 1
    return out
