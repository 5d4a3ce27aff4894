"""Domain models (pydantic). Every boundary of the system speaks these types."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.contacts import DEFAULT_PHONE_REGION, normalize_email, normalize_phone


class Channel(StrEnum):
    """A delivery channel."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    WEBHOOK = "webhook"


class Severity(StrEnum):
    """How serious a guardrail finding is: `block` stops the message, `warn` is advice."""

    BLOCK = "block"
    WARN = "warn"


class Goal(StrEnum):
    """What a campaign is for. Each goal has an audience and journey recipe."""

    WINBACK = "winback"
    CART_RECOVERY = "cart_recovery"
    CROSS_SELL = "cross_sell"
    PRODUCT_LAUNCH = "product_launch"
    PROMOTION = "promotion"
    RETENTION = "retention"


class CampaignStatus(StrEnum):
    """Where a campaign stands."""

    DRAFT = "draft"
    NEEDS_INPUT = "needs_input"
    PLANNED = "planned"
    AWAITING_APPROVAL = "awaiting_approval"
    ACTIVATING = "activating"
    """Approved; its outbox is being written by activation jobs of the job queue (it becomes
    active when the last job is done)."""
    ACTIVE = "active"
    PAUSED = "paused"
    """Live but held: its messages stay scheduled and the dispatcher sends none of them."""
    STOPPED = "stopped"
    """Ended by a person: its scheduled messages are skipped (`campaign_stopped`)."""
    COMPLETED = "completed"
    """Every message is out and the measurement window has closed; the final report is stored."""
    REJECTED = "rejected"
    FAILED = "failed"


class RevisionStatus(StrEnum):
    """Where an optimizer revision stands."""

    APPLIED = "applied"
    QUEUED = "queued"
    APPROVED = "approved"
    REJECTED = "rejected"


class MessageStatus(StrEnum):
    """Outbox state of one message."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    """Why a message was not sent: decided by activation when writing the outbox, or by the
    dispatcher at send time (consent, suppression and caps are checked again then)."""

    NO_APPROVED_VARIANT = "no_approved_variant"
    UNKNOWN_CUSTOMER = "unknown_customer"
    NO_ADDRESS = "no_address"
    NO_CONSENT = "no_consent"
    RENDER_ERROR = "render_error"
    GUARDRAIL_BLOCK = "guardrail_block"
    UNSUBSCRIBED = "unsubscribed"
    SUPPRESSED_BOUNCE = "suppressed_bounce"
    SUPPRESSED_COMPLAINT = "suppressed_complaint"
    CONDITION_NOT_MET = "condition_not_met"
    FREQUENCY_CAP = "frequency_cap"
    CAMPAIGN_STOPPED = "campaign_stopped"


class OutcomeKind(StrEnum):
    """What happened after a send (or, for holdout members, without one)."""

    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class ApprovalStatus(StrEnum):
    """Where an approval stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class _Model(BaseModel):
    model_config = ConfigDict(use_enum_values=False, extra="forbid")


# --- customers and behaviour -------------------------------------------------------------


class Consent(_Model):
    """A person's consent for one channel, with where and when it was given or withdrawn."""

    channel: Channel
    """The channel this consent covers."""
    granted: bool
    """True if the person may be contacted on this channel."""
    source: str = "import"
    """Where the consent came from (signup form, import, SMS keyword, unsubscribe link…)."""
    at: datetime
    """When it was given or withdrawn (UTC)."""


class Customer(_Model):
    """A known person: identity, contact points, locale and consent."""

    id: str
    """Stable customer id (Segment `userId`)."""
    email: str | None = None
    """E-mail address."""
    phone: str | None = None
    """Phone number in E.164."""
    first_name: str | None = None
    """Given name, as the person wrote it (untrusted)."""
    last_name: str | None = None
    """Family name (untrusted)."""
    timezone: str | None = None
    """IANA timezone, e.g. `Europe/Berlin`; the brand default applies when unknown."""
    locale: str = "en-US"
    """BCP-47 locale."""
    country: str | None = None
    """ISO 3166 alpha-2 country code."""
    traits: dict[str, Any] = Field(default_factory=dict)
    """Other identify traits. Fields listed as private in the brand kit never reach copy."""
    consent: list[Consent] = Field(default_factory=list)
    """Consent per channel."""
    created_at: datetime | None = None
    """When the person was first seen."""


PROFILE_TRAITS = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "timezone": "timezone",
    "locale": "locale",
    "country": "country",
}
"""`identify` traits that update the customer's own fields (Segment's reserved names and their
snake_case forms) → the `Customer` field; other traits are kept in `Customer.traits`."""
CONSENT_TRAITS = {f"{ch.value}_consent": ch for ch in Channel}
"""`identify` traits that set consent (`email_consent: true`), like the importer's columns."""
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def _checked_profile_traits(traits: dict[str, Any]) -> dict[str, Any]:
    """`traits` with contact points normalised (e-mail, E.164 phone), checked as the importer
    checks a customer row; `ValueError` starting with the offending `traits.<name>`."""
    out = dict(traits)
    for key in PROFILE_TRAITS.keys() & traits.keys():
        value = traits[key]
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"traits.{key} must be a non-empty string, got {value!r}")
        field = PROFILE_TRAITS[key]
        if field == "email":
            try:
                out[key] = normalize_email(value)
            except ValueError as exc:
                raise ValueError(f"traits.{key} is invalid: {exc}") from None
        elif field == "phone":
            country = traits.get("country")
            region = country if isinstance(country, str) else DEFAULT_PHONE_REGION
            try:
                out[key] = normalize_phone(value, region)
            except ValueError as exc:
                raise ValueError(
                    f"traits.{key} is invalid: {exc}; write it in E.164 like +14155550100"
                ) from None
        elif field == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"traits.{key} {value!r} is not an IANA zone; use one like Europe/Berlin"
                ) from None
        elif field == "locale" and not _LOCALE.match(value):
            raise ValueError(f"traits.{key} {value!r} is not a BCP-47 locale like en-US")
        elif field == "country":
            if not _COUNTRY.match(value):
                raise ValueError(f"traits.{key} {value!r} is not an ISO country code like DE")
            out[key] = value.upper()
        elif len(value) > 200:
            raise ValueError(f"traits.{key} is longer than 200 characters")
    for key in CONSENT_TRAITS.keys() & traits.keys():
        if not isinstance(traits[key], bool):
            raise ValueError(f"traits.{key} must be true or false, got {traits[key]!r}")
    return out


class Event(_Model):
    """A Segment-style event (`identify`, `track` or `page`), as the HTTP API and imports take it.

    Field names follow Segment's HTTP Tracking API; fields Segment sends that autocmo does not
    use (`integrations`, `sentAt`, `channel`, `version`…) are ignored.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["identify", "track", "page"]
    """Segment call type."""
    message_id: str = Field(alias="messageId", min_length=1, max_length=128)
    """Unique id of the event, used to de-duplicate (a retried call adds nothing)."""
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=64)
    """The customer id; `anonymousId` stands in until an `identify` links the two."""
    anonymous_id: str | None = Field(default=None, alias="anonymousId", min_length=1, max_length=58)
    """A device or cookie id for a person not yet identified."""
    event: str | None = Field(default=None, max_length=64)
    """Event name for `track` (Product Viewed, Product Added, Order Completed…)."""
    name: str | None = Field(default=None, max_length=64)
    """Page name for `page`."""
    properties: dict[str, Any] = Field(default_factory=dict)
    """Event properties (product_id, category, revenue, total, products…)."""
    traits: dict[str, Any] = Field(default_factory=dict)
    """Traits for `identify`: those in `PROFILE_TRAITS` and `CONSENT_TRAITS` update the customer
    (checked and normalised here), the others are kept with the person."""
    context: dict[str, Any] = Field(default_factory=dict)
    """Segment context (ip, userAgent, page…); accepted as Segment sends it, not stored."""
    timestamp: datetime
    """When it happened (UTC)."""

    @model_validator(mode="after")
    def _who_and_what(self) -> Event:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("userId or anonymousId is required")
        if self.type == "track" and not self.event:
            raise ValueError("event is required for a track call (e.g. 'Order Completed')")
        if self.timestamp.tzinfo is None:
            raise ValueError("timestamp has no timezone; write it like 2025-05-01T10:00:00Z")
        for key in ("revenue", "total", "price"):
            value = self.properties.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"properties.{key} must be a number, got {value!r}")
        products = self.properties.get("products")
        if products is not None and not (
            isinstance(products, list) and all(isinstance(p, dict) for p in products)
        ):
            raise ValueError("properties.products must be a list of objects")
        if self.type == "identify" and self.traits:
            self.traits = _checked_profile_traits(self.traits)
        return self


class TrackingPolicy(_Model):
    """How a brand measures what its messages did (a brand kit section)."""

    click_tracking: bool = True
    """Links in e-mails and SMS go through the signed redirect `/c/{token}` that records clicks
    (SMS: a short token, only on the brand's domains and never at the cost of a segment)."""
    open_pixel: bool = False
    """Add an open pixel to e-mails; opens are a weak signal (machine opens inflate them)."""
    attribution_window_days: int = Field(default=7, ge=1, le=90)
    """A conversion is attributed to the last message the person got within this many days."""
    measurement_window_days: int = Field(default=30, ge=1, le=365)
    """Conversions count for a campaign's members (treated and holdout) for this many days
    from its first scheduled send."""


class Product(_Model):
    """A catalog item."""

    id: str
    """SKU or product id."""
    name: str
    """Display name."""
    category: str
    """Top-level category."""
    price: float = Field(ge=0)
    """Price in the brand's currency."""
    url: str
    """Product page URL."""
    margin: float = Field(default=0.4, ge=0, le=1)
    """Gross margin as a fraction of price."""
    launched: date | None = None
    """Day the product went on sale; launch copy may call it new only for a while after it
    (the planner's `NEW_FOR_DAYS`). None: not known."""


# --- planning ----------------------------------------------------------------------------


class Offer(_Model):
    """An incentive attached to a campaign."""

    kind: Literal["percent_off", "amount_off", "free_shipping", "gift", "none"] = "none"
    """Offer type; disclaimers are required per type."""
    percent: float | None = Field(default=None, ge=0, le=100)
    """Discount percentage for `percent_off`."""
    amount: float | None = Field(default=None, gt=0)
    """Money off for `amount_off` (`10` for "$10 off"), in `currency`."""
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    """ISO 4217 code of `amount` and `min_order` (`USD`); None means the brand's currency."""
    min_order: float | None = Field(default=None, gt=0)
    """Smallest order the offer applies to ("£5 off orders over £50" → 50), if any."""

    @model_validator(mode="after")
    def _amount_given(self) -> Offer:
        if self.kind == "amount_off" and self.amount is None:
            raise ValueError("an amount_off offer needs its amount (e.g. 10 for $10 off)")
        return self

    code: str | None = None
    """Promo code shown in the copy."""
    expires: str | None = None
    """Human-readable expiry, e.g. `Sunday midnight`."""


class Recurrence(_Model):
    """A campaign that runs again every period: each run draws the audience afresh and sends
    the journey to it. Periods are in the brand's default timezone."""

    every: Literal["day", "week"] = "week"
    """Run daily or weekly."""
    weekday: int = Field(default=0, ge=0, le=6)
    """Day of a weekly run, 0 = Monday … 6 = Sunday."""
    hour_local: int = Field(default=9, ge=0, le=23)
    """Local hour a run starts; the plan sends at this hour in each person's timezone."""


class EntryTrigger(_Model):
    """Who enters an always-on journey, and when: instead of a one-off audience, people enter
    as their events arrive, on an event (e.g. cart abandonment: `Product Added` with no `Order
    Completed` within 4 hours) or on entering a segment (e.g. a second order)."""

    event: str | None = Field(default=None, min_length=1, max_length=64)
    """The `track` event that lets a person in, e.g. `Product Added`."""
    segment: Audience | None = None
    """Instead of `event`: people enter when they come to match this audience, i.e. when one of
    their events (a purchase, an identify…) makes its filters true that were not true before
    (a person new since the last scan was in no segment)."""
    unless_event: str | None = Field(default=None, max_length=64)
    """They do not enter if they send this event within `wait_hours` after it (e.g.
    `Order Completed`); event triggers only."""
    wait_hours: float = Field(default=0, ge=0, le=720)
    """Hours after the event before the person enters (the time `unless_event` has)."""
    reentry_days: float | None = Field(default=30, ge=0)
    """A person enters at most once in this many days; None: once ever."""

    @model_validator(mode="after")
    def _one_entry(self) -> EntryTrigger:
        if (self.event is None) == (self.segment is None):
            raise ValueError("a trigger needs exactly one of: an event, a segment")
        if self.segment is not None and self.unless_event is not None:
            raise ValueError("unless_event applies to event triggers only")
        return self

    @property
    def label(self) -> str:
        """What lets people in, in words (`event Product Added`, `segment Repeat buyers`)."""
        if self.segment is not None:
            return f"segment {self.segment.name}"
        return f"event {self.event}"


class Objective(_Model):
    """What the marketer wants, parsed from a brief."""

    name: str
    """Short campaign name."""
    goal: Goal
    """What the campaign is for."""
    kpi: Literal["conversion_rate", "revenue_per_person", "click_rate"] = "conversion_rate"
    """The metric the optimizer improves and the lift is measured on."""
    audience_hints: list[str] = Field(default_factory=list)
    """Phrases from the brief that narrow the audience (e.g. `category:outdoor`)."""
    channels: list[Channel] = Field(default_factory=lambda: [Channel.EMAIL])
    """Channels the brief allows, in order of preference."""
    offer: Offer = Field(default_factory=Offer)
    """The incentive, if any."""
    start: datetime | None = None
    """First send time (UTC); now when absent."""
    end: datetime | None = None
    """Campaign end (UTC)."""
    constraints: list[str] = Field(default_factory=list)
    """Free-text constraints from the brief (budget, exclusions)."""
    recurrence: Recurrence | None = None
    """Run again every period (e.g. every Monday 9:00); None: a one-off campaign."""
    trigger: EntryTrigger | None = None
    """People enter as events arrive (always-on journey); None: the audience is drawn once."""
    language: str | None = None
    """The one language every message is written in (`de`), whatever each person's locale;
    None: each person gets their own language where the kit and the copy have it."""

    @field_validator("language")
    @classmethod
    def _language_code(cls, v: str | None) -> str | None:
        """`pt-BR`, `DE` → `pt`, `de`: the primary language subtag."""
        if v is None:
            return None
        code = v.strip().replace("_", "-").split("-", 1)[0].lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise ValueError(f"language {v!r} is not a language code like `de` or `pt-BR`")
        return code


class BriefParse(_Model):
    """The planner's reading of a brief: an objective, or the questions that block one."""

    objective: Objective | None = None
    """The objective, when the brief has the essentials."""
    questions: list[str] = Field(default_factory=list)
    """Clarifying questions for the marketer; non-empty means the plan waits."""
    assumptions: list[str] = Field(default_factory=list)
    """What the planner assumed where the brief was silent."""


FilterOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains"]


FilterFeatureKind = Literal["number", "boolean", "text", "list"]
FILTER_FEATURE_KINDS: dict[str, FilterFeatureKind] = {
    "recency_days": "number",
    "frequency": "number",
    "monetary": "number",
    "views_30d": "number",
    "cart_abandoned": "boolean",
    "favorite_category": "text",
    "lifecycle_stage": "text",
    "country": "text",
    "bought": "list",
    "opens": "number",
    "days_since_open": "number",
}
"""The value type of each audience feature."""
_OPS_BY_KIND: dict[str, frozenset[str]] = {
    "number": frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in"}),
    "boolean": frozenset({"eq", "ne"}),
    "text": frozenset({"eq", "ne", "in", "contains"}),
    "list": frozenset({"contains"}),
}
LIFECYCLE_STAGES = ("prospect", "new", "active", "at_risk", "lapsed")
"""The lifecycle stages a `lifecycle_stage` filter may name."""


def _typed(feature: str, kind: str, value: Any) -> Any:
    """`value` as the feature's type, or a ValueError that says what was expected."""
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ValueError(f"{feature} compares numbers, got {value!r}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        low = str(value).strip().lower()
        if low in {"true", "yes", "1"}:
            return True
        if low in {"false", "no", "0"}:
            return False
        raise ValueError(f"{feature} is true or false, got {value!r}")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{feature} compares text, got {value!r}")
    if feature == "lifecycle_stage" and value not in LIFECYCLE_STAGES:
        raise ValueError(f"lifecycle_stage is one of {', '.join(LIFECYCLE_STAGES)}, got {value!r}")
    return value


class AudienceFilter(_Model):
    """One condition over a customer feature."""

    feature: Literal[
        "recency_days",
        "frequency",
        "monetary",
        "favorite_category",
        "cart_abandoned",
        "lifecycle_stage",
        "country",
        "views_30d",
        "bought",
        "opens",
        "days_since_open",
    ]
    """Customer feature computed from events (`bought`: names and categories of products
    the person ordered; `contains` matches a whole word of one of them, any case) and from
    outcomes (`opens`: messages opened; `days_since_open`: None if never)."""
    op: FilterOp
    """Comparison."""
    value: Any
    """Right-hand side, typed per feature and operator (see `_check_value`)."""

    @model_validator(mode="after")
    def _check_value(self) -> AudienceFilter:
        """Type the value per feature and operator, so a filter that validates can be matched.

        Numbers (recency_days, frequency, monetary, views_30d, opens, days_since_open) take
        every operator but
        `contains`, with a number (or numeric string) or, for `in`, a list of numbers;
        `cart_abandoned` takes `eq`/`ne` with true/false; text features take `eq`, `ne`, `in`
        and `contains` with text, and `lifecycle_stage` only its known stages; `bought` takes
        `contains` with text.
        """
        kind = FILTER_FEATURE_KINDS[self.feature]
        allowed = _OPS_BY_KIND[kind]
        if self.op not in allowed:
            raise ValueError(
                f"{self.feature} is a {kind} feature: operator {self.op!r} is not allowed "
                f"(use one of {', '.join(sorted(allowed))})"
            )
        items = self.value if isinstance(self.value, list) else None
        if self.op == "in":
            if not items:
                raise ValueError(f"{self.feature} in needs a non-empty list, got {self.value!r}")
            self.value = [_typed(self.feature, kind, v) for v in items]
        else:
            self.value = _typed(self.feature, kind, self.value)
        return self


class Audience(_Model):
    """A named set of people, defined by filters (ANDed)."""

    name: str
    """Human name of the audience."""
    description: str = ""
    """Why this audience."""
    filters: list[AudienceFilter] = Field(default_factory=list)
    """Conditions, all of which must hold."""
    exclusions: list[AudienceFilter] = Field(default_factory=list)
    """Conditions that leave a person out when any holds (e.g. ordered in the last 7 days)."""


class JourneyStep(_Model):
    """One step of a journey: a message on a channel after a delay, under a condition."""

    id: str
    """Step id, unique within the plan (e.g. `s1`)."""
    channel: Channel
    """Channel of this step."""
    delay_hours: float = Field(default=0, ge=0)
    """Hours after campaign start."""
    condition: Literal["always", "not_converted", "not_clicked"] = "always"
    """Send only if the person has not yet converted / clicked."""
    content_brief: str
    """What the message should do, for the content agent."""


class PersonalCopy(_Model):
    """Opt-in: the LLM writes each person's message itself (not only the templates), for a
    small or high-value audience, within a cost ceiling for the campaign."""

    max_cost_usd: float = Field(gt=0, le=10_000)
    """Most the campaign may spend on per-person copy (tokens priced by `llm_prices`); when
    the next message would pass it, the rest get the templates."""
    max_people: int = Field(default=500, ge=1)
    """The mode applies only when the campaign reaches at most this many people…"""
    min_monetary: float | None = Field(default=None, ge=0)
    """…or, when set, to the people whose total revenue is at least this (high value)."""


class Plan(_Model):
    """The planner's output: audiences, holdout and journey."""

    objective: Objective
    """The objective it serves."""
    audiences: list[Audience]
    """Who is targeted (union of audiences)."""
    holdout_fraction: float = Field(default=0.1, ge=0.0, le=0.5)
    """Share of the audience reserved as a randomized holdout (no message)."""
    journey: list[JourneyStep]
    """Steps in send order."""
    send_hour_local: int = Field(default=10, ge=0, le=23)
    """Preferred send hour in each person's own timezone."""
    personal_copy: PersonalCopy | None = None
    """Opt-in per-person LLM copy with a cost ceiling; None: every message from templates."""
    rationale: str = ""
    """Why this plan, in a sentence or two."""
    assumptions: list[str] = Field(default_factory=list)
    """What the planner assumed while drafting (e.g. that the offline engine took over)."""


class VariantText(_Model):
    """A variant's subject and body templates in another language."""

    subject: str | None = None
    """Subject template (e-mail, push title)."""
    body: str
    """Body template; the compliance footer is appended by the system."""


class VariantTemplate(_Model):
    """An arm: a Jinja2 subject/body template for one step."""

    id: str
    """Variant id, unique within the campaign."""
    step_id: str
    """The journey step it belongs to."""
    arm: str
    """Arm name (A, B, …)."""
    channel: Channel
    """Channel."""
    subject: str | None = None
    """Subject template (e-mail, push title)."""
    body: str
    """Body template; the compliance footer is appended by the system."""
    angle: str = ""
    """The creative angle, e.g. `urgency` or `social proof`."""
    weight: float = Field(default=1.0, ge=0)
    """Allocation weight for future sends."""
    status: Literal["active", "paused", "blocked"] = "active"
    """Whether it is used for new sends."""
    translations: dict[str, VariantText] = Field(default_factory=dict)
    """The same arm in other languages, by language code (`de`); a person whose language has
    none gets the default language."""


class Finding(_Model):
    """A guardrail finding on a piece of copy."""

    rule_id: str
    """Stable rule id, e.g. `claims.superlative`."""
    severity: Severity
    """`block` stops the message; `warn` is advice."""
    span: str | None = None
    """The offending text."""
    explanation: str
    """Why it is a problem, in plain words."""
    suggested_fix: str | None = None
    """How to fix it."""
    field: Literal["subject", "body", "message"] = "body"
    """Where in the message it was found."""


class Outcome(_Model):
    """Something that happened to a person in a campaign."""

    campaign_id: str
    """Campaign."""
    customer_id: str
    """Person."""
    message_id: str | None = None
    """Message it is attributed to; None for holdout members."""
    kind: OutcomeKind
    """What happened."""
    value: float = 0.0
    """Revenue for conversions."""
    at: datetime
    """When (UTC)."""


class Revision(_Model):
    """A change the optimizer proposes."""

    kind: Literal[
        "shift_allocation", "pause_arm", "change_send_hour", "change_offer", "resize_audience"
    ]
    """What kind of change."""
    description: str
    """Plain-words summary."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Parameters (e.g. new weights per variant id)."""
    risk: float = Field(ge=0, le=1)
    """0 = trivial, 1 = large; compared with the brand's approval policy."""
    evidence: dict[str, Any] = Field(default_factory=dict)
    """The numbers behind it."""


class Decision(_Model):
    """An audit record: an agent decided something, and why."""

    campaign_id: str | None
    """Campaign, if any."""
    agent: str
    """planner, content, guardrails, approval, activation, optimizer, dispatcher, human."""
    action: str
    """What was decided."""
    reason: str
    """Why."""
    evidence: dict[str, Any] = Field(default_factory=dict)
    """Supporting data."""
    at: datetime
    """When (UTC)."""
