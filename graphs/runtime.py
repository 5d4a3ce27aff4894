"""What the graphs' nodes need at run time, built once from Settings at the edge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from brand_guardrails.kit import BrandKit, load_brand_kit
from brand_guardrails.store import RuleStore
from core.brands import store_brand
from core.db import Database, utcnow
from core.settings import Settings
from tools.delivery.dispatch import DispatchPolicy
from tools.llm import LLMClient, db_usage_recorder


@dataclass
class Deps:
    """Dependencies of every node: settings, database, brand kit, LLM, rule store and clock."""

    settings: Settings
    """Configuration."""
    db: Database
    """The database."""
    kit: BrandKit
    """The brand kit in force."""
    llm: LLMClient
    """The LLM client (OpenAI-compatible or offline engine)."""
    rules: RuleStore | None = None
    """Brand rules in Chroma; None skips retrieval (unit tests)."""
    clock: Callable[[], datetime] = field(default=utcnow)
    """Current time; the demo and tests move it."""

    def dispatch_policy(self) -> DispatchPolicy:
        """The brand kit's sending rules, as the dispatcher enforces them."""
        kit = self.kit
        return DispatchPolicy(
            from_name=kit.sender.from_name,
            from_email=kit.sender.from_email,
            default_timezone=kit.default_timezone,
            quiet_start=kit.quiet_hours.start,
            quiet_end=kit.quiet_hours.end,
            frequency_caps={
                ch.value: (cap.max_messages, cap.days) for ch, cap in kit.frequency_caps.items()
            },
            click_tracking=kit.tracking.click_tracking,
            link_domains=list(kit.allowed_link_domains),
            open_pixel=kit.tracking.open_pixel,
            email_design=kit.email_design,
        )


def build_deps(settings: Settings, *, with_rules: bool = True) -> Deps:
    """Open the database (creating tables), load and index the brand kit, build the LLM client."""
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    kit = load_brand_kit(settings.brand_path)
    _store_brand(db, kit)
    rules = None
    if with_rules:
        rules = RuleStore(settings.chroma_dir)
        rules.index(kit)
    return Deps(
        settings=settings,
        db=db,
        kit=kit,
        llm=LLMClient(settings, on_usage=db_usage_recorder(db)),
        rules=rules,
    )


def _store_brand(db: Database, kit: BrandKit) -> None:
    """Record the brand and the kit version in force (the audit trail refers to it)."""
    version = f"{kit.version}+{kit.fingerprint()[:12]}"
    store_brand(db, kit.id, name=kit.name, kit=kit.model_dump(mode="json"), kit_version=version)
