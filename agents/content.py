"""The content agent: variant templates per journey step, and one rendered message per person.

The LLM (or the offline engine, from the brand kit's approved copy bank) writes a small pool of
Jinja2 templates per step; every person's message is rendered from a template with their own
data in a sandbox, and the compliance footer is added by the system, never left to the writer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from jinja2 import TemplateError
from pydantic import BaseModel, Field

from agents.prompts import render_prompt
from brand_guardrails.checks.injection import is_injection
from brand_guardrails.checks.injection import score as injection_score
from brand_guardrails.copybank import compile_template
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import TEMPLATE_VARIABLES, Angle, BrandKit, CopyTemplate
from brand_guardrails.rules import BrandRule
from core.models import (
    Channel,
    Customer,
    Finding,
    JourneyStep,
    Objective,
    Offer,
    Product,
    Severity,
    VariantTemplate,
)
from tools.audience import CustomerFeatures
from tools.llm import LLMClient, delimit

ANGLES: tuple[str, ...] = get_args(Angle)
"""Creative angles an arm can take (the brand kit's list)."""

ARMS_PER_STEP = 2
"""How many arms the content agent writes for each step."""

_NULLISH = {"none", "null", "nan", "undefined", "n/a", "test"}
_NAME_OK = re.compile(r"^[^\W\d_][^\W\d_ '\-.]*(?:[ '\-.][^\W\d_]+)*\.?$", re.UNICODE)


class VariantDraft(BaseModel):
    """One arm as the writer drafts it."""

    arm: str = Field(description="Arm label, A, B, C …")
    """Arm label."""
    angle: str
    """Creative angle."""
    subject: str | None = None
    """Subject template (e-mail and push); null for SMS."""
    body: str
    """Body template without footer."""


class VariantDraftSet(BaseModel):
    """The writer's output for one step."""

    variants: list[VariantDraft] = Field(min_length=1, max_length=4)
    """The arms."""


class RenderError(ValueError):
    """A template could not be rendered for a person (unknown variable, syntax error)."""


@dataclass(frozen=True)
class RenderedMessage:
    """A person's message: subject and body with the compliance footer."""

    subject: str | None
    """Rendered subject."""
    body: str
    """Rendered body including the footer."""


def offer_text(offer: Offer, currency: str = "USD") -> str:
    """The offer in words, e.g. `20% off` or `free shipping`; empty when there is none."""
    if offer.kind == "percent_off" and offer.percent:
        return f"{offer.percent:g}% off"
    if offer.kind == "free_shipping":
        return "free shipping"
    if offer.kind == "gift":
        return "a free gift with your order"
    return ""


# --- writing templates --------------------------------------------------------------------


def write_variants(
    llm: LLMClient,
    kit: BrandKit,
    *,
    objective: Objective,
    step: JourneyStep,
    rules: Sequence[BrandRule],
    campaign_id: str,
    attempt: int = 1,
    feedback: Mapping[str, Sequence[Finding]] | None = None,
    angles: Sequence[str] | None = None,
) -> list[VariantTemplate]:
    """Write the arms of one step under the retrieved brand rules (and fix earlier findings).

    `angles` keeps arm A, B … on the same creative angle across the steps of a journey, so an
    arm is a coherent treatment whose results can be pooled over steps.
    """
    system = render_prompt(
        "write_variants.j2",
        brand_name=kit.name,
        arms=ARMS_PER_STEP,
        channel=step.channel.value,
        angles=list(ANGLES),
        content_brief=step.content_brief,
        goal=objective.goal.value,
        offer_text=offer_text(objective.offer, kit.currency),
        voice=kit.voice.description,
        rules=list(rules),
        variables=sorted(TEMPLATE_VARIABLES),
        subject_max=kit.channel_rules.email.subject_max_length,
        feedback={k: list(v) for k, v in (feedback or {}).items()},
        arm_angles=list(angles or []),
    )
    user = delimit(
        "task",
        {"step": step.model_dump(mode="json"), "offer": objective.offer.model_dump(mode="json")},
    )
    drafts = llm.generate(
        "write_variants",
        system=system,
        user=user,
        schema=VariantDraftSet,
        offline=lambda: _offline_variants(kit, objective, step, attempt, angles),
        campaign_id=campaign_id,
    )
    out: list[VariantTemplate] = []
    for i, d in enumerate(drafts.variants[:4]):
        arm = chr(ord("A") + i)
        out.append(
            VariantTemplate(
                id=f"{campaign_id}:{step.id}:{arm}",
                step_id=step.id,
                arm=arm,
                channel=step.channel,
                subject=d.subject if step.channel != Channel.SMS else None,
                body=d.body,
                angle=d.angle if d.angle in ANGLES else "value",
            )
        )
    return out


def _offline_variants(
    kit: BrandKit,
    objective: Objective,
    step: JourneyStep,
    attempt: int,
    angles: Sequence[str] | None,
) -> VariantDraftSet:
    """Pick approved templates from the copy bank: different angles, rotated on each retry."""
    bank: list[CopyTemplate] = [
        t for t in kit.copy_bank if t.goal == objective.goal and t.channel == step.channel
    ]
    if not bank:
        bank = [t for t in kit.copy_bank if t.channel == step.channel]
    if not bank:
        raise RenderError(
            f"The brand kit's copy bank has no {step.channel.value} templates; add some under "
            "`copy_bank` or configure an LLM."
        )
    # The follow-up step takes the bank from the other end so it does not repeat step 1's copy.
    order = bank if step.condition == "always" else list(reversed(bank))
    start = (attempt - 1) * ARMS_PER_STEP
    rotated = order[start:] + order[:start]
    chosen: list[CopyTemplate] = []
    for angle in list(angles or [])[:ARMS_PER_STEP]:
        match = next((t for t in rotated if t.angle == angle), None)
        if match is not None and match not in chosen:
            chosen.append(match)
    for t in rotated:
        if len(chosen) >= ARMS_PER_STEP:
            break
        if all(c.angle != t.angle for c in chosen):
            chosen.append(t)
    return VariantDraftSet(
        variants=[
            VariantDraft(arm=chr(ord("A") + i), angle=t.angle, subject=t.subject, body=t.body)
            for i, t in enumerate(chosen)
        ]
    )


# --- rendering ----------------------------------------------------------------------------


def render_template(source: str, context: Mapping[str, Any]) -> str:
    """Render one template in the sandbox; unknown variables and errors raise RenderError."""
    try:
        template = compile_template(source)
    except TemplateError as exc:
        raise RenderError(f"template does not compile: {exc}") from exc
    try:
        return str(template.render(**context)).strip()
    except Exception as exc:  # jinja raises many types; all mean the template is unusable
        raise RenderError(f"template failed to render: {exc}") from exc


def render_message(
    kit: BrandKit,
    variant: VariantTemplate,
    context: Mapping[str, Any],
    *,
    unsubscribe_url: str,
    offer: Offer | None = None,
) -> RenderedMessage:
    """Render a variant for one person and append the system's compliance footer
    (with the disclaimer the offer requires)."""
    subject, body = render_variant(variant, context)
    return with_footer(kit, variant.channel, subject, body, unsubscribe_url, offer=offer)


def render_variant(variant: VariantTemplate, context: Mapping[str, Any]) -> tuple[str | None, str]:
    """(subject, body) of a variant rendered for one person, before the footer."""
    subject = render_template(variant.subject, context) if variant.subject else None
    return subject, render_template(variant.body, context)


def with_footer(
    kit: BrandKit,
    channel: Channel,
    subject: str | None,
    body: str,
    unsubscribe_url: str,
    *,
    offer: Offer | None = None,
) -> RenderedMessage:
    """A rendered subject and body as sent: the body with the compliance footer."""
    return RenderedMessage(
        subject=subject, body=apply_footer(kit, channel, body, unsubscribe_url, offer=offer)
    )


def deterministic(variant: VariantTemplate) -> bool:
    """True unless the variant's templates may draw at random (Jinja's `random` filter or
    `lipsum`): then the same data renders the same text, and a rendering can be reused."""
    sources = f"{variant.subject or ''}\n{variant.body}"
    return "random" not in sources and "lipsum" not in sources


def clean_first_name(raw: str | None) -> str:
    """A first name safe to put in copy: a plausible name or nothing (it is untrusted input)."""
    if not raw:
        return ""
    name = " ".join(raw.split())
    if len(name) > 40 or name.lower() in _NULLISH or not _NAME_OK.match(name):
        return ""
    if is_injection(name):
        return ""
    return name


def profile_findings(customer: Customer) -> list[Finding]:
    """Findings for profile fields used in copy that read like prompt injections; such a
    field is left out of the person's message (see `clean_first_name`)."""
    out: list[Finding] = []
    for field, value in (("first_name", customer.first_name),):
        if not is_injection(value):  # memoised, and true of almost everyone
            continue
        hit = injection_score(value)
        if hit.hit:
            out.append(
                Finding(
                    rule_id="injection.profile_field",
                    severity=Severity.WARN,
                    span=(value or "")[:80],
                    explanation=(
                        f"The customer's {field} reads like instructions to an AI "
                        f"({'; '.join(hit.reasons[:2])}); it was left out of the message."
                    ),
                    suggested_fix=f"Review and clean the {field} in the customer record.",
                    field="message",
                )
            )
    return out


def _greeting(local_send: datetime | None) -> str:
    if local_send is None:
        return "Hello"
    h = local_send.hour
    return "Good morning" if h < 12 else "Good afternoon" if h < 18 else "Good evening"


def pick_product(
    features: CustomerFeatures | None,
    objective: Objective,
    products: Mapping[str, Product],
    fallbacks: Mapping[str | None, Product],
) -> Product | None:
    """The product a person's message features, from their own behaviour or the best-sellers."""
    if features is not None:
        ordered = {
            "cart_recovery": [features.last_cart_product_id, features.last_viewed_product_id],
            "cross_sell": [features.last_viewed_product_id],
            "winback": [features.last_bought_product_id, features.last_viewed_product_id],
        }.get(objective.goal.value, [features.last_viewed_product_id])
        for pid in ordered:
            if pid and pid in products:
                if objective.goal.value == "cross_sell" and pid == features.last_bought_product_id:
                    continue
                return products[pid]
        fav = features.favorite_category
        if fav in fallbacks:
            return fallbacks[fav]
    return fallbacks.get(None)


def person_context(
    kit: BrandKit,
    objective: Objective,
    customer: Customer,
    product: Product | None,
    *,
    features: CustomerFeatures | None,
    local_send: datetime | None,
) -> dict[str, Any]:
    """The template variables for one person, from their own data only."""
    offer = objective.offer
    category = (product.category if product else None) or (
        features.favorite_category if features else None
    )
    return {
        "first_name": clean_first_name(customer.first_name),
        "brand_name": kit.name,
        "product_name": product.name if product else "our latest gear",
        "product_url": product.url if product else kit.site_url,
        "category": category or "new arrivals",
        "offer_text": offer_text(offer, kit.currency),
        "code": offer.code or "",
        "expires": offer.expires or "",
        "shop_url": kit.site_url,
        "greeting": _greeting(local_send),
    }


def preview_contexts(kit: BrandKit, objective: Objective) -> list[dict[str, Any]]:
    """Synthetic people for checking templates before any real person is rendered."""
    base = {
        "brand_name": kit.name,
        "product_name": "Trailhead 40L Pack",
        "product_url": kit.site_url.rstrip("/") + "/p/preview",
        "category": "outdoor",
        "offer_text": offer_text(objective.offer, kit.currency),
        "code": objective.offer.code or "",
        "expires": objective.offer.expires or "",
        "shop_url": kit.site_url,
        "greeting": "Good morning",
    }
    return [{**base, "first_name": "Alex"}, {**base, "first_name": ""}]
