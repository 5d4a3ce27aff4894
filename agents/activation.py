"""The activation agent: one outbox message per treated person and step, timed in their timezone.

Messages are written to the outbox (status `scheduled`) before anything is sent; the dispatcher
sends them later and re-checks consent at send time. People who cannot be contacted on a step's
channel get a `skipped` row with the reason, so every decision about a person is on record.
"""

from __future__ import annotations

import functools
import gc
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from agents.content import (
    PersonalCopyReport,
    PersonalWriter,
    RenderError,
    deterministic,
    message_language,
    person_context,
    pick_product,
    profile_findings,
    render_variant,
    with_footer,
)
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.kit import BrandKit
from core import messages as outbox
from core.audit import record_decision
from core.catalog import list_products, purchase_history
from core.customers import get_customers
from core.db import Database, utcnow
from core.models import (
    Channel,
    Customer,
    Finding,
    MessageStatus,
    Plan,
    Product,
    Severity,
    SkipReason,
    VariantTemplate,
)
from core.settings import Settings
from tools.audience import CustomerFeatures, compute_features, salted_uniform
from tools.delivery.scheduling import resolve_tz, schedule_time
from tools.delivery.tokens import unsubscribe_url
from tools.llm import LLMClient
from tools.recommend import fitted

_CHUNK = 2000
P = ParamSpec("P")
R = TypeVar("R")
RENDER_FEATURES = frozenset({"favorite_category", "last_viewed_product_id", "last_cart_product_id"})
"""The features a render reads (`pick_product`, `person_context`, the recommendations): only
their queries run when a chunk is loaded."""
PERSONAL_FEATURES = RENDER_FEATURES | {"monetary"}
"""The features a render reads with per-person LLM copy (its budget reads `monetary`)."""
_RENDER_MEMO = 50_000
"""Renderings kept for reuse (emptied when full)."""


class ActivationReport(BaseModel):
    """What activation wrote to the outbox."""

    scheduled: int = 0
    """Messages written as `scheduled`."""
    skipped: Counter[str] = Field(default_factory=Counter)
    """Rows written as `skipped`, by reason."""
    already_present: int = 0
    """Rows that existed from an earlier run (idempotent re-run)."""
    personal_copy: PersonalCopyReport | None = None
    """What the opt-in per-person LLM copy mode did (None when the plan did not ask for it)."""

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        out: dict[str, object] = {
            "scheduled": self.scheduled,
            "skipped": dict(self.skipped),
            "already_present": self.already_present,
        }
        if self.personal_copy is not None:
            out["personal_copy"] = self.personal_copy.model_dump()
        return out


def arm_probabilities(variants: Sequence[VariantTemplate]) -> dict[str, float]:
    """Probability that each active variant (by id) is chosen: its share of the weights."""
    active = [v for v in variants if v.status == "active" and v.weight > 0]
    total = sum(v.weight for v in active)
    return {v.id: v.weight / total for v in active}


def choose_arm(
    campaign_id: str, customer_id: str, variants: Sequence[VariantTemplate]
) -> tuple[VariantTemplate, float]:
    """Weighted, deterministic choice of an active arm and the probability it had.

    The person's `arm` draw (`salted_uniform`, independent of the holdout draw) is one per
    campaign, so with the same weights a person gets the same arm label in every step; when
    weights change, only people near an arm boundary move (consistent hashing).
    """
    return _Arms(variants).pick(salted_uniform("arm", campaign_id, customer_id))


class _Arms:
    """The active arms of one step with their probabilities, for many draws."""

    def __init__(self, variants: Sequence[VariantTemplate]) -> None:
        probs = arm_probabilities(variants)
        self.active = [(v, probs[v.id]) for v in variants if v.id in probs]

    def pick(self, u: float) -> tuple[VariantTemplate, float]:
        """The arm a draw `u` in [0, 1) falls in, and its probability."""
        if not self.active:
            raise ValueError("no active variant to choose from")
        acc = 0.0
        for v, p in self.active:
            acc += p
            if u < acc:
                return v, p
        return self.active[-1]


def _address(customer: Customer, channel: Channel) -> str | None:
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return customer.phone
    return customer.id


def recipient_data(kit: BrandKit, customer: Customer) -> dict[str, str]:
    """The person's own data for the guardrails: contact fields and private trait values."""
    data = {
        k: v
        for k, v in (
            ("email", customer.email),
            ("phone", customer.phone),
            ("first_name", customer.first_name),
            ("last_name", customer.last_name),
        )
        if v
    }
    for name in kit.private_fields:
        value = customer.traits.get(name)
        if value is not None and str(value).strip() and name not in data:
            data[name] = str(value)
    return data


def _consented(customer: Customer, channel: Channel) -> bool:
    return any(c.channel == channel and c.granted for c in customer.consent)


class PersonRenderer:
    """Renders and checks a person's message; holds the data every render needs (the people
    of the current chunk: `load` them first)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        kit: BrandKit,
        plan: Plan,
        *,
        as_of: datetime,
        personal: PersonalWriter | None = None,
    ) -> None:
        self.settings = settings
        self.kit = kit
        self.plan = plan
        self.as_of = as_of
        self._zones: dict[str | None, ZoneInfo] = {}
        self._rendered: dict[tuple[Any, ...], tuple[str | None, str, BrandKit]] = {}
        self._reusable: dict[str, bool] = {}
        """Per variant id: whether its renderings may be reused (`deterministic`, read once)."""
        self.customers: dict[str, Customer] = {}
        self.features: dict[str, CustomerFeatures] = {}
        self.products: dict[str, Product] = {p.id: p for p in list_products(db)}
        # Everyone's purchases fit the co-purchase model (kept between activations until an
        # order comes in); each person is then answered in memory (no query per person).
        fit = fitted(db, list(self.products.values()), as_of=as_of)
        self.recommender = fit.recommender
        self.fallbacks: dict[str | None, Product] = {
            cat: self.products[pid] for cat, pid in fit.best_by_category.items()
        }
        self.purchases: dict[str, list[str]] = {}
        """What the loaded people bought (`load`)."""
        self._recommended: dict[str, list[str]] = {}
        self._links: dict[tuple[str, str, Channel], str] = {}
        self._recipients: dict[str, dict[str, str]] = {}
        """Unsubscribe links and guardrail data of the loaded people (the same in every step)."""
        self.personal = personal
        """Per-person LLM copy (opt-in, within its cost ceiling); None: templates only."""

    def recommended(self, customer_id: str) -> list[str]:
        """The person's recommendations (what goes with what they own; never what they own)."""
        if customer_id not in self._recommended:
            feats = self.features.get(customer_id)
            last_viewed = feats.last_viewed_product_id if feats else None
            viewed = [last_viewed] if last_viewed else []
            self._recommended[customer_id] = self.recommender.recommend(
                self.purchases.get(customer_id, ()), 3, viewed=viewed
            )
        return self._recommended[customer_id]

    def load(self, db: Database, customer_ids: Sequence[str]) -> None:
        """Load the people the next renders are for (one chunk of the audience at a time, so
        a large audience is never held in memory at once)."""
        self.customers = get_customers(db, customer_ids)
        self.purchases = purchase_history(db, as_of=self.as_of, customer_ids=customer_ids)
        self._recommended.clear()
        self._links.clear()
        self._recipients.clear()
        only = RENDER_FEATURES if self.personal is None else PERSONAL_FEATURES
        with db.session() as s:
            self.features = compute_features(
                s, as_of=self.as_of, customer_ids=customer_ids, only=only
            )

    def tz(self, name: str | None) -> ZoneInfo:
        """The zone of a person's timezone name (the brand's default when unknown)."""
        if name not in self._zones:
            self._zones[name] = resolve_tz(name, self.kit.default_timezone)
        return self._zones[name]

    def _render_variant(
        self, variant: VariantTemplate, ctx: dict[str, Any], language: str | None
    ) -> tuple[str | None, str, BrandKit]:
        """`render_variant`, reusing the rendering of earlier people with the same data (names,
        products and greetings repeat across a large audience)."""
        reusable = self._reusable.get(variant.id)
        if reusable is None:
            reusable = self._reusable[variant.id] = deterministic(variant)
        if not reusable:
            return render_variant(self.kit, variant, ctx, language)
        key = (variant.id, variant.subject, variant.body, language, tuple(ctx.items()))
        hit = self._rendered.get(key)
        if hit is None:
            if len(self._rendered) >= _RENDER_MEMO:
                self._rendered.clear()
            hit = self._rendered[key] = render_variant(self.kit, variant, ctx, language)
        return hit

    def render(
        self, campaign_id: str, variant: VariantTemplate, customer: Customer, send_at: datetime
    ) -> tuple[CopyToCheck, Product | None]:
        """The person's rendered message (subject, body with footer) and its featured product."""
        feats = self.features.get(customer.id)
        product = pick_product(
            feats,
            self.plan.objective,
            self.products,
            self.fallbacks,
            recommended=self.recommended(customer.id),
            owned=self.purchases.get(customer.id, ()),
        )
        tz = self.tz(customer.timezone)
        language = message_language(
            self.kit, variant, customer.locale, self.plan.objective.language
        )
        ctx = person_context(
            self.kit,
            self.plan.objective,
            customer,
            product,
            features=feats,
            local_send=send_at.astimezone(tz),
            language=language,
        )
        link = (campaign_id, customer.id, variant.channel)
        url = self._links.get(link)
        if url is None:
            url = self._links[link] = unsubscribe_url(
                self.settings,
                customer_id=customer.id,
                channel=variant.channel,
                campaign_id=campaign_id,
            )
        recipient = self._recipients.get(customer.id)
        if recipient is None:
            recipient = self._recipients[customer.id] = recipient_data(self.kit, customer)
        msg = None
        if self.personal is not None:
            msg = self.personal.write(
                variant,
                ctx,
                monetary=feats.monetary if feats else 0.0,
                language=language,
                unsubscribe_url=url,
                recipient=recipient,
            )
        if msg is None:
            subject, body, footer_kit = self._render_variant(variant, ctx, language)
            msg = with_footer(
                footer_kit, variant.channel, subject, body, url, offer=self.plan.objective.offer
            )
        copy = CopyToCheck(
            channel=variant.channel,
            subject=msg.subject,
            body=msg.body,
            offer=self.plan.objective.offer,
            system_links=(url,),
            recipient=recipient,
            locale=msg.language,
        )
        return copy, product


def _old_objects_spared(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with the objects that exist when it starts left out of cyclic garbage
    collection (`gc.freeze`), and put them back afterwards (`gc.unfreeze`).

    A process holds hundreds of thousands of long-lived objects (libraries, the embedding
    model); activation allocates enough to trigger full collections, each of which walked all
    of them (measured: about a third of activation's CPU time). Objects created during the call
    are collected as usual; nothing is lost, a collection just skips what predates the call."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        gc.freeze()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.unfreeze()

    return run


@_old_objects_spared
def schedule_campaign(
    db: Database,
    settings: Settings,
    kit: BrandKit,
    *,
    campaign_id: str,
    plan: Plan,
    variants: Sequence[VariantTemplate],
    treated: Sequence[str],
    start: datetime,
    run_keys: Mapping[str, str] | None = None,
    llm: LLMClient | None = None,
) -> ActivationReport:
    """Write the outbox for a campaign: one row per treated person and journey step.

    Idempotent: rows whose idempotency key (`campaign:step:person`, or `campaign:run:step:person`
    for a person's run of a recurring campaign or entry into a triggered one, from `run_keys`)
    exists are left alone, so a re-run after a crash completes the outbox without duplicating
    anything. With `llm` and a plan that opts in (`plan.personal_copy`), the LLM writes each
    person's message within the campaign's cost ceiling (see `PersonalWriter`).
    """
    runs = {cid: f"{run}:" for cid, run in (run_keys or {}).items()}
    report = ActivationReport()
    personal = None
    if plan.personal_copy is not None and llm is not None:
        personal = PersonalWriter(
            llm,
            kit,
            plan,
            prices=settings.llm_prices,
            model=settings.llm_model,
            campaign_id=campaign_id,
            audience_size=len(treated),
        )
        report.personal_copy = personal.report
    renderer = PersonRenderer(db, settings, kit, plan, as_of=start, personal=personal)
    by_step: dict[str, list[VariantTemplate]] = {}
    for v in variants:
        by_step.setdefault(v.step_id, []).append(v)
    steps = []
    for step in plan.journey:
        step_variants = by_step.get(step.id, [])
        if any(v.status == "active" for v in step_variants):
            steps.append((step, _Arms(step_variants)))
        else:
            report.skipped[SkipReason.NO_APPROVED_VARIANT.value] += len(treated)

    rows: list[dict[str, object]] = []
    findings: list[dict[str, object]] = []
    send_times: dict[tuple[str | None, str], datetime] = {}
    for start_at in range(0, len(treated) if steps else 0, _CHUNK):
        chunk = treated[start_at : start_at + _CHUNK]
        existing = outbox.idempotency_keys(db, campaign_id, customer_ids=chunk)
        renderer.load(db, chunk)
        draws = {cid: salted_uniform("arm", campaign_id, cid) for cid in chunk}
        for step, arms in steps:
            for cid in chunk:
                run = runs.get(cid)
                key = (
                    f"{campaign_id}:{run}:{step.id}:{cid}"
                    if run
                    else f"{campaign_id}:{step.id}:{cid}"
                )
                if key in existing:
                    report.already_present += 1
                    continue
                customer = renderer.customers.get(cid)
                if customer is None:
                    report.skipped[SkipReason.UNKNOWN_CUSTOMER.value] += 1
                    continue
                variant, probability = arms.pick(draws[cid])
                # Everyone in one timezone gets the same send time for a step: compute it once.
                slot = (customer.timezone, step.id)
                if slot not in send_times:
                    send_times[slot] = schedule_time(
                        start=start,
                        delay_hours=step.delay_hours,
                        tz=renderer.tz(customer.timezone),
                        send_hour=plan.send_hour_local,
                        quiet_start=kit.quiet_hours.start,
                        quiet_end=kit.quiet_hours.end,
                    )
                send_at = send_times[slot]
                row: dict[str, object] = {
                    "id": "msg_" + hashlib.sha256(key.encode()).hexdigest()[:20],
                    "idempotency_key": key,
                    "campaign_id": campaign_id,
                    "step_id": step.id,
                    "customer_id": cid,
                    "variant_id": variant.id,
                    "arm": variant.arm,
                    "propensity": probability,
                    "channel": step.channel.value,
                    "condition": step.condition,
                    "scheduled_at": send_at,
                    "attempts": 0,
                    "created_at": utcnow(),
                    "subject": None,
                    "body": "",
                    "product_id": None,
                    "to_address": "",
                    "status": MessageStatus.SCHEDULED,
                    "skip_reason": None,
                }
                reason = _render_into(
                    row, renderer, campaign_id, step.channel, variant, customer, send_at, findings
                )
                if reason is not None:
                    row.update(status=MessageStatus.SKIPPED, skip_reason=reason)
                    report.skipped[reason] += 1
                else:
                    report.scheduled += 1
                rows.append(row)
        _flush(db, rows, findings)
    record_decision(
        db,
        campaign_id=campaign_id,
        agent="activation",
        action="outbox_written",
        reason=(
            f"{report.scheduled} messages scheduled in each person's timezone at "
            f"{plan.send_hour_local}:00 local, outside quiet hours; skips: "
            f"{dict(report.skipped) or 'none'}." + _personal_summary(report.personal_copy)
        ),
        evidence=report.as_dict(),
    )
    return report


def _personal_summary(p: PersonalCopyReport | None) -> str:
    if p is None:
        return ""
    if not p.active:
        return f" Per-person LLM copy not used: {p.reason}."
    return (
        f" Per-person LLM copy: {p.written} messages written for ${p.spent_usd:.4f} of the "
        f"${p.ceiling_usd:g} ceiling; from templates instead: {p.fallback or 'none'}"
        + (" (stopped at the cost ceiling)." if p.stopped_at_ceiling else ".")
    )


def _render_into(
    row: dict[str, object],
    renderer: PersonRenderer,
    campaign_id: str,
    channel: Channel,
    variant: VariantTemplate,
    customer: Customer,
    send_at: datetime,
    findings: list[dict[str, object]],
) -> str | None:
    """Render and check one person's message into `row`; the skip reason, or None to send."""
    address = _address(customer, channel)
    if not address:
        return SkipReason.NO_ADDRESS.value
    if not _consented(customer, channel):
        return SkipReason.NO_CONSENT.value
    kit, cid = renderer.kit, customer.id
    try:
        copy, product = renderer.render(campaign_id, variant, customer, send_at)
    except RenderError as exc:
        error = Finding(
            rule_id="tokens.template_error",
            severity=Severity.BLOCK,
            explanation=str(exc),
            field="message",
        )
        findings.append(_finding_row(campaign_id, variant.id, error, customer_id=cid))
        return SkipReason.RENDER_ERROR.value
    row.update(
        subject=copy.subject,
        body=copy.body,
        to_address=address,
        product_id=product.id if product else None,
    )
    # suspicious profile fields are left out of the copy, and kept on record
    blocks = [f for f in check_message(kit, copy) if f.severity == Severity.BLOCK]
    for f in profile_findings(customer) + blocks:
        findings.append(_finding_row(campaign_id, variant.id, f, customer_id=cid))
    return SkipReason.GUARDRAIL_BLOCK.value if blocks else None


def _finding_row(
    campaign_id: str, variant_id: str, f: Finding, *, customer_id: str | None = None
) -> dict[str, object]:
    return {
        "campaign_id": campaign_id,
        "variant_id": variant_id,
        "attempt": 0,
        "rule_id": f.rule_id,
        "severity": f.severity.value,
        "span": f.span,
        "explanation": f.explanation + (f" (person {customer_id})" if customer_id else ""),
        "suggested_fix": f.suggested_fix,
        "field": f.field,
        "created_at": utcnow(),
    }


def _flush(db: Database, rows: list[dict[str, object]], findings: list[dict[str, object]]) -> None:
    outbox.write_outbox(db, rows, findings)
    rows.clear()
    findings.clear()


def reallocate_scheduled(
    db: Database,
    settings: Settings,
    kit: BrandKit,
    *,
    campaign_id: str,
    plan: Plan,
    variants: Sequence[VariantTemplate],
    as_of: datetime,
) -> int:
    """Re-draw the arm of people not contacted yet, under the variants' current weights.

    A person who has been sent anything keeps their arm in every later step, so a journey is
    never split between arms. Re-drawn messages record their new selection probability.
    Returns how many messages changed arm (and were re-rendered). Sent messages never change.
    """
    by_step: dict[str, list[VariantTemplate]] = {}
    for v in variants:
        by_step.setdefault(v.step_id, []).append(v)
    pending = outbox.scheduled_messages(db, campaign_id, set(by_step))
    if not pending:
        return 0
    renderer = PersonRenderer(db, settings, kit, plan, as_of=as_of)
    renderer.load(db, [m.customer_id for m in pending])
    updates: list[dict[str, object]] = []
    moved = 0
    for m in pending:
        # Same draw, new weights: only people near an arm boundary move (consistent hashing).
        new, probability = choose_arm(campaign_id, m.customer_id, by_step[m.step_id])
        if new.id == m.variant_id:
            updates.append({"id": m.id, "propensity": probability})
            continue
        customer = renderer.customers.get(m.customer_id)
        if customer is None:
            continue
        try:
            copy, product = renderer.render(campaign_id, new, customer, m.scheduled_at)
        except RenderError:
            continue
        if any(f.severity == Severity.BLOCK for f in check_message(kit, copy)):
            continue
        moved += 1
        updates.append(
            {
                "id": m.id,
                "variant_id": new.id,
                "arm": new.arm,
                "propensity": probability,
                "subject": copy.subject,
                "body": copy.body,
                "product_id": product.id if product else None,
            }
        )
    # Only rows still scheduled change: a dispatcher may have claimed some meanwhile.
    outbox.rewrite_scheduled(db, updates)
    return moved
