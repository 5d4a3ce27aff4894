"""Database: SQLAlchemy 2 tables and engine. Portable SQL (SQLite by default, PostgreSQL by URL).

Rows are `*Row` classes; domain code speaks the pydantic models in `core.models`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    any_,
    bindparam,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from alembic.config import Config

DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
"""What a locked (SQLite `database is locked`) or lost (PostgreSQL connection terminated)
database raises; a long-running process backs off and tries again."""


class InvalidData(ValueError):
    """Input the database cannot store; the message says what to change."""


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE changed (`Session.execute` types its result as plain `Result`)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def new_id(prefix: str) -> str:
    """A short unique id with a readable prefix, e.g. `cmp_1a2b3c4d5e6f`."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and returns them aware (SQLite drops tzinfo otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for all tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class BrandRow(Base):
    """A brand and the kit version in force."""

    __tablename__ = "brands"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kit: Mapped[dict[str, Any]] = mapped_column(JSON)
    kit_version: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerRow(Base):
    """A known person."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16), default="en-US")
    country: Mapped[str | None] = mapped_column(String(2))
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRow(Base):
    """Current consent of a person for a channel (latest wins; history is in decisions)."""

    __tablename__ = "consents"
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class EventRow(Base):
    """A Segment-style event; `message_id` de-duplicates."""

    __tablename__ = "events"
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str | None] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timestamp: Mapped[datetime]

    __table_args__ = (
        Index("ix_events_user_ts", "user_id", "timestamp"),
        # Events of one name (the orders `core.catalog.orders_fingerprint` counts on every
        # recommender use) are read without scanning every event.
        Index("ix_events_event_ts", "event", "timestamp"),
    )


class SourceRow(Base):
    """Where events come from (a website, an app, a backend); its write key is stored hashed."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    write_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the write key (hex); the key itself is shown once, at creation."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityRow(Base):
    """An `anonymousId` linked to a customer by an `identify` call (identity stitching)."""

    __tablename__ = "identities"
    anonymous_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    linked_at: Mapped[datetime]
    """Time of the identify call that linked them."""


class ProductRow(Base):
    """A catalog item."""

    __tablename__ = "products"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), index=True)
    price: Mapped[float] = mapped_column(Float)
    url: Mapped[str] = mapped_column(String(500))
    margin: Mapped[float] = mapped_column(Float, default=0.4)
    launched: Mapped[date | None] = mapped_column(Date, nullable=True, default=None)
    """Day the product went on sale (None: not known)."""


class CampaignRow(Base):
    """A campaign: the brief, its status and the graph thread that runs it."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    brief: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="draft")
    """draft, needs_input, planned, awaiting_approval, activating, active, paused, stopped,
    completed, rejected, failed."""
    thread_id: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(32), default="offline")
    created_by: Mapped[str | None] = mapped_column(String(200))
    """The user who submitted the brief (four-eyes: they never approve its launch)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlanRow(Base):
    """A plan version for a campaign."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentRow(Base):
    """Who is in a campaign, and whether they are treated or held out."""

    __tablename__ = "assignments"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group: Mapped[str] = mapped_column("grp", String(16))
    """`treated` or `holdout`."""
    audience: Mapped[str] = mapped_column(String(200), default="")


class VariantRow(Base):
    """An arm (variant template) of a step."""

    __tablename__ = "variants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    step_id: Mapped[str] = mapped_column(String(32))
    arm: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    angle: Mapped[str] = mapped_column(String(64), default="")
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    status: Mapped[str] = mapped_column(String(16), default="active")
    translations: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class FindingRow(Base):
    """A guardrail finding on a variant (or a single message)."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    variant_id: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    rule_id: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(8))
    span: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[str] = mapped_column(Text)
    suggested_fix: Mapped[str | None] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(16), default="body")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRow(Base):
    """A decision that needs a human."""

    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """`launch` (plan and copy before the first send) or `revision` (optimizer change)."""
    subject: Mapped[str] = mapped_column(Text)
    """What is to be approved."""
    reason: Mapped[str] = mapped_column(Text)
    """Why it needs a human."""
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What applies on approval (e.g. the revision)."""
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class MessageRow(Base):
    """The outbox: one message per treated person and step, written before any send."""

    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    step_id: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(16))
    propensity: Mapped[float | None] = mapped_column(Float)
    """Probability with which the arm was chosen for this person (off-policy evaluation);
    None on rows written before it was recorded."""
    channel: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[str | None] = mapped_column(String(64))
    """The product the message features, if any."""
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    condition: Mapped[str] = mapped_column(String(32), default="always")
    scheduled_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_messages_due", "status", "scheduled_at"),
        Index("ix_messages_campaign", "campaign_id", "customer_id"),
        Index("ix_messages_customer_sent", "customer_id", "channel", "sent_at"),
    )


class SuppressionRow(Base):
    """An address that must not be contacted on a channel (hard bounce, complaint), whoever
    it belongs to. The dispatcher checks it at send time."""

    __tablename__ = "suppressions"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    """Normalized address: lower-case e-mail, E.164 phone number."""
    reason: Mapped[str] = mapped_column(String(32))
    """`hard_bounce` or `complaint`."""
    source: Mapped[str] = mapped_column(String(64))
    """Where it came from, e.g. `bounce_webhook`."""
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class WebhookReceiptRow(Base):
    """A signed inbound webhook already applied, so a replay of it changes nothing."""

    __tablename__ = "webhook_receipts"
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Which endpoint: `sms_inbound`, `delivery_events`."""
    receipt_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The provider's id (Twilio `MessageSid`) or a hash of the signature."""
    at: Mapped[datetime] = mapped_column(index=True)
    """When it was received; receipts older than the endpoint's replay window are pruned."""


class OutcomeRow(Base):
    """Something that happened after a send (or to a holdout member)."""

    __tablename__ = "outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float, default=0.0)
    at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(128), default="", server_default="")
    """The event (`messageId`) a conversion came from, so each order counts once and a repeat
    purchase attributed to the same message counts too; empty for message outcomes (clicks,
    opens), which count once per message."""

    __table_args__ = (
        Index("ix_outcomes_campaign", "campaign_id", "kind"),
        UniqueConstraint(
            "campaign_id", "customer_id", "message_id", "kind", "event_id", name="uq_outcome"
        ),
    )


class RevisionRow(Base):
    """A revision proposed by the optimizer: applied, queued for approval, or rejected."""

    __tablename__ = "revisions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    risk: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    """`applied`, `queued`, `rejected`."""
    approval_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionRow(Base):
    """The audit trail: every agent and human decision, with its reason and evidence."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FinalReportRow(Base):
    """The report stored when a campaign completes (its measurement window closed)."""

    __tablename__ = "final_reports"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The campaign report as JSON, frozen at completion."""
    closed_at: Mapped[datetime]
    """When the measurement window closed."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignRunRow(Base):
    """One run of a recurring campaign. The key is unique per campaign and period, so a period
    runs once whatever restarts; `finished_at` stays empty until its outbox is written."""

    __tablename__ = "campaign_runs"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """`run-<period start, UTC>`, e.g. `run-20261109T1400Z`."""
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    scheduled: Mapped[int] = mapped_column(Integer, default=0)
    """Messages the run scheduled."""


class ActivationJobRow(Base):
    """One activation job of a campaign whose activation was split into jobs of the job queue:
    the treated people with ids from `first_customer_id` to `last_customer_id`."""

    __tablename__ = "activation_jobs"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)
    """0, 1, 2 …: the job's place in the campaign's treated people, sorted by id."""
    first_customer_id: Mapped[str] = mapped_column(String(64))
    last_customer_id: Mapped[str] = mapped_column(String(64))
    people: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime]
    """The campaign's start, from which the journey's send times are computed."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    """queued, running, retrying (failed, a later attempt is queued), done or failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    scheduled: Mapped[int] = mapped_column(Integer, default=0)
    """Messages the job's last successful run scheduled."""
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    """Messages it skipped, whatever the reason (`ActivationReport.skipped`)."""
    error: Mapped[str | None] = mapped_column(Text)
    """The last failure, if any."""
    updated_at: Mapped[datetime]


class JourneyEntryRow(Base):
    """A person entering a triggered journey; one per person and triggering event."""

    __tablename__ = "journey_entries"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Derived from the triggering event's id; part of the entry's message keys."""
    group: Mapped[str] = mapped_column("grp", String(16))
    """`treated` or `holdout`."""
    entered_at: Mapped[datetime]


class TriggerCursorRow(Base):
    """How far a triggered campaign's worker scan has read the events."""

    __tablename__ = "trigger_cursors"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    scanned_through: Mapped[datetime]
    """Events up to this time have been considered."""


class LLMUsageRow(Base):
    """Token usage of one LLM call, charged to a campaign."""

    __tablename__ = "llm_usage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRow(Base):
    """A person who may use the workspace, with one role."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    """viewer, marketer, approver or admin."""
    password_hash: Mapped[str] = mapped_column(String(255))
    """Argon2id hash (never the password)."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """An API bearer token of a user, stored as its SHA-256 (the token is shown once)."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


def make_engine(url: str) -> Engine:
    """Create an engine. SQLite gets WAL and a busy timeout so a worker and the API can share it:
    how long a statement waits for a lock before "database is locked", 30 s unless the URL sets
    one (`sqlite:///path?timeout=5`)."""
    if url.startswith("sqlite"):
        connect_args: dict[str, Any] = {"check_same_thread": False}
        if "timeout" not in make_url(url).query:  # connect_args would override the URL's
            connect_args["timeout"] = 30
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """An engine, its session factory and the schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent; safe at every start).

        An empty database gets the tables from the models and is stamped at head (Alembic's
        recipe for a new database; a test proves it equals running every migration). A
        database made before Alembic (autocmo's `create_all`) is adopted at the baseline
        revision, then upgraded. On PostgreSQL an advisory lock keeps two starting processes
        from migrating at once.
        """
        from alembic import command

        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config = alembic_config(conn)
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables:
                if not tables & set(Base.metadata.tables):
                    Base.metadata.create_all(conn)
                    command.stamp(config, "head")
                    return
                _adopt_pre_alembic(conn, tables)
                command.stamp(config, BASELINE_REVISION)
            command.upgrade(config, "head")

    def drop_all(self) -> None:
        """Drop every table and the migration stamp (tests and `autocmo demo --fresh`)."""
        Base.metadata.drop_all(self.engine)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error. Values the
        database cannot store (a NUL character in text on PostgreSQL) raise `InvalidData`."""
        try:
            with self._sessions() as s, s.begin():
                yield s
        except DataError as exc:
            raise InvalidData(
                f"The database refused a value: {exc.orig}. Remove control characters such as "
                "NUL (\\u0000) from the input."
            ) from exc

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()


BASELINE_REVISION = "0001"
"""The first Alembic revision: the schema of the last release that used `create_all`."""

_MIGRATION_LOCK = 0x61C3_0001
"""PostgreSQL advisory-lock key held while migrating."""


def alembic_config(conn: Connection) -> Config:
    """Alembic's configuration for the migrations shipped in `core/migrations`, on `conn`."""
    from alembic.config import Config  # here: Alembic is read only when a process migrates

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.attributes["connection"] = conn
    return config


def _adopt_pre_alembic(conn: Connection, tables: set[str]) -> None:
    """Bring a database made by `create_all` (before Alembic) to the baseline revision: the
    one column that code added by hand; a table missing means an older, unsupported layout."""
    missing = sorted(_BASELINE_TABLES - tables)
    if missing:
        raise InvalidData(
            f"This database predates autocmo's migrations and lacks the tables {missing}. "
            "Start the previous autocmo release on it once (it creates them), or export the "
            "customers and events and import them into a new database."
        )
    have = {c["name"] for c in inspect(conn).get_columns("messages")}
    if "propensity" not in have:
        conn.execute(text("ALTER TABLE messages ADD COLUMN propensity FLOAT"))


_BASELINE_TABLES = frozenset(
    {
        "api_tokens",
        "approvals",
        "assignments",
        "brands",
        "campaign_runs",
        "campaigns",
        "consents",
        "customers",
        "decisions",
        "events",
        "final_reports",
        "findings",
        "identities",
        "journey_entries",
        "llm_usage",
        "messages",
        "outcomes",
        "plans",
        "products",
        "revisions",
        "sources",
        "suppressions",
        "trigger_cursors",
        "users",
        "variants",
        "webhook_receipts",
    }
)


def insert_ignoring_duplicates(conn: Connection, model: type[Base]) -> Insert:
    """An INSERT that skips rows whose key is already stored (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return pg_insert(model).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite_insert(model).on_conflict_do_nothing()
    raise NotImplementedError(f"{conn.dialect.name} is not supported; use SQLite or PostgreSQL")


def one_of(conn: Connection, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN values` for a long list of values (a batch's ids). On PostgreSQL written as
    `column = ANY(:array)`: one parameter, so the statement's text does not grow with the list
    and SQLAlchemy's and psycopg's statement caches keep it (an IN list of hundreds of values is
    compiled and parsed again on every execution). Elsewhere an ordinary (expanding) IN."""
    values = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def unindexed(column: Any) -> ColumnElement[Any]:
    """A string column as `column || ''`: same values, but a filter on it cannot be answered
    from the column's indexes, so the planner uses another condition's index. For filters on a
    few people's events: SQLite otherwise picked events(event, timestamp) and read every order,
    cart add and view of the shop for each batch instead of the batch's own events (through
    events(user_id, timestamp))."""
    return column.concat("")


class DraftMessageRow(Base):
    """One message of a draft's conversation (the brief chat): the brief, the planner's
    questions and plan summaries, the marketer's answers and change requests, decisions."""

    __tablename__ = "draft_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """marketer, planner or approver."""
    kind: Mapped[str] = mapped_column(String(16))
    """brief, answer, change, submit, questions, plan, waiting, decision or error."""
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    """The logged-in user who wrote it (people's messages)."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Structured detail (questions, plan facts) for the pages."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
