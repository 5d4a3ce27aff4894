"""The content agent: variant templates per journey step, and one rendered message per person.

The LLM (or the offline engine, from the brand kit's approved copy bank) writes a small pool of
Jinja2 templates per step; every person's message is rendered from a template with their own
data in a sandbox, and the compliance footer is added by the system, never left to the writer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, get_args

from jinja2 import TemplateError
from pydantic import BaseModel, Field

from agents.prompts import render_prompt
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.checks.injection import is_injection
from brand_guardrails.checks.injection import score as injection_score
from brand_guardrails.copybank import compile_template
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import (
    TEMPLATE_VARIABLES,
    Angle,
    BrandKit,
    CopyTemplate,
    Disclaimers,
    FooterText,
    LocaleText,
    Stage,
)
from brand_guardrails.locale import kit_for
from brand_guardrails.money import money_text
from brand_guardrails.rules import BrandRule
from core.models import (
    Channel,
    Customer,
    Finding,
    JourneyStep,
    Objective,
    Offer,
    Plan,
    Product,
    Severity,
    VariantTemplate,
    VariantText,
)
from core.settings import LLMPrice
from tools.audience import CustomerFeatures
from tools.llm import LLMClient, LLMError, delimit

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
    language: str = "en"
    """Language it is written in (copy and footer)."""


def offer_text(offer: Offer, currency: str = "USD", words: LocaleText | None = None) -> str:
    """The offer in words, e.g. `20% off`, `$10 off orders over $50` or `free shipping` (in
    `words`' language when given; an amount in the offer's currency, else `currency`); empty
    when there is none."""
    w = words or _ENGLISH
    if offer.kind == "percent_off" and offer.percent:
        return w.percent_off.format(percent=f"{offer.percent:g}")
    if offer.kind == "amount_off" and offer.amount:
        cur = offer.currency or currency
        text = w.amount_off.format(amount=money_text(offer.amount, cur, w.money))
        if offer.min_order:
            text += w.min_order.format(minimum=money_text(offer.min_order, cur, w.money))
        return text
    if offer.kind == "free_shipping":
        return w.free_shipping
    if offer.kind == "gift":
        return w.gift
    return ""


_ENGLISH = LocaleText(footer=FooterText(), disclaimers=Disclaimers())
"""The system's English words (offer wording, greetings, fallbacks)."""


def message_language(
    kit: BrandKit, variant: VariantTemplate, locale: str | None, fixed: str | None = None
) -> str:
    """The language a person's message is written in: the plan's `fixed` language (the
    objective's `language`) when set, else their own; either only when the kit and the variant
    have it, else the kit's default."""
    lang = kit.language_of(fixed or locale)
    return lang if lang in variant.translations else kit.default_locale


def _words(kit: BrandKit, language: str | None) -> LocaleText:
    return kit.locales.get(language or "", _ENGLISH) if language != kit.default_locale else _ENGLISH


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
    journey: Sequence[JourneyStep] = (),
    earlier: Sequence[VariantTemplate] = (),
) -> list[VariantTemplate]:
    """Write the arms of one step under the retrieved brand rules (and fix earlier findings).

    `angles` keeps arm A, B … on the same creative angle across the steps of a journey, so an
    arm is a coherent treatment whose results can be pooled over steps. `journey` (the plan's
    steps) tells the writer where the step sits: a reminder or last-chance message gets its own
    copy, not the first message again; `earlier` (the variants of the journey's earlier steps)
    are never repeated.
    """
    stage = step_stage(step, journey)
    ids = [s.id for s in journey]
    before = list(journey[: ids.index(step.id)]) if step.id in ids else []
    used = {v.body for v in earlier}
    system = render_prompt(
        "write_variants.j2",
        brand_name=kit.name,
        arms=ARMS_PER_STEP,
        channel=step.channel.value,
        angles=list(ANGLES),
        stage=stage,
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
        {
            "step": step.model_dump(mode="json"),
            "offer": objective.offer.model_dump(mode="json"),
            "earlier_steps": [
                {"channel": s.channel.value, "content_brief": s.content_brief} for s in before
            ],
            "earlier_subjects": sorted({v.subject for v in earlier if v.subject}),
        },
    )
    drafts, _fallback = llm.generate_or_offline(
        "write_variants",
        system=system,
        user=user,
        schema=VariantDraftSet,
        offline=lambda: _offline_variants(kit, objective, step, attempt, angles, stage, used),
        campaign_id=campaign_id,
    )
    drafted = drafts.variants[:4]
    translated = _translate(llm, kit, drafted, step=step, stage=stage, campaign_id=campaign_id)
    out: list[VariantTemplate] = []
    for i, d in enumerate(drafted):
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
                translations={
                    lang: VariantText(
                        subject=t.subject if step.channel != Channel.SMS else None, body=t.body
                    )
                    for lang, t in translated[i].items()
                },
            )
        )
    return out


def _same(value: VariantDraftSet) -> VariantDraftSet:
    return value


def _translate(
    llm: LLMClient,
    kit: BrandKit,
    drafts: Sequence[VariantDraft],
    *,
    step: JourneyStep,
    stage: Stage,
    campaign_id: str,
) -> list[dict[str, VariantDraft]]:
    """Each arm in every language of the kit (`kit.locales`): the copy bank's approved
    translation of a bank template, else (with an LLM) the arms written again in that
    language; an arm with neither stays in the default language for those readers."""
    by_body = {t.body: t for t in kit.copy_bank}
    out: list[dict[str, VariantDraft]] = [{} for _ in drafts]
    for lang in sorted(kit.locales):
        bank: list[VariantDraft | None] = []
        for d in drafts:
            t = by_body.get(d.body)
            local = t.translations.get(lang) if t else None
            bank.append(
                VariantDraft(arm=d.arm, angle=d.angle, subject=local.subject, body=local.body)
                if local
                else None
            )
        if all(b is not None for b in bank) or llm.engine == "offline":
            written: list[VariantDraft | None] = bank
        else:
            system = render_prompt(
                "translate_variants.j2",
                brand_name=kit.name,
                language=lang,
                channel=step.channel.value,
                stage=stage,
                variables=sorted(TEMPLATE_VARIABLES),
                subject_max=kit.channel_rules.email.subject_max_length,
            )
            user = delimit("variants", [d.model_dump(mode="json") for d in drafts])
            fallback = VariantDraftSet(variants=[b or d for b, d in zip(bank, drafts, strict=True)])
            try:
                result = llm.generate(
                    f"write_variants_{lang}",
                    system=system,
                    user=user,
                    schema=VariantDraftSet,
                    offline=partial(_same, fallback),
                    campaign_id=campaign_id,
                )
            except LLMError:  # readers of this language get the bank's text or the default
                result = fallback
            written = list(result.variants[: len(drafts)])
            written += [None] * (len(drafts) - len(written))
            # what the offline fallback returned unchanged is the default language, not lang
            written = [
                w if w is not None and w.body != d.body else b
                for w, b, d in zip(written, bank, drafts, strict=True)
            ]
        for i, w in enumerate(written):
            if w is not None:
                out[i][lang] = w
    return out


_STAGE_ORDER: dict[str, tuple[Stage, ...]] = {
    "first": ("first", "reminder", "last_chance"),
    "reminder": ("reminder", "last_chance", "first"),
    "last_chance": ("last_chance", "reminder", "first"),
}


def step_stage(step: JourneyStep, journey: Sequence[JourneyStep] = ()) -> Stage:
    """Where a step sits in its journey: `first`, a `reminder`, or the `last_chance` (the last
    step of a journey of three or more). Without the journey: a step sent at once to everyone
    is the first, any other a reminder."""
    ids = [s.id for s in journey]
    if step.id not in ids:
        return "first" if step.condition == "always" and step.delay_hours == 0 else "reminder"
    i = ids.index(step.id)
    if i == 0:
        return "first"
    return "last_chance" if i == len(ids) - 1 and len(ids) >= 3 else "reminder"


def _offline_variants(
    kit: BrandKit,
    objective: Objective,
    step: JourneyStep,
    attempt: int,
    angles: Sequence[str] | None,
    stage: Stage = "first",
    used: Collection[str] = (),
) -> VariantDraftSet:
    """Pick approved templates from the copy bank written for the step's stage (a reminder is
    not the first message again), on the journey's angles, rotated on each retry; templates
    whose body is in `used` (earlier steps') only when nothing else is left."""
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
    start = (attempt - 1) * ARMS_PER_STEP
    chosen: list[CopyTemplate] = []
    # The step's own stage first; other stages only when the bank has too few for it; copy of
    # earlier steps last.
    groups = [
        [t for t in bank if t.stage == wanted and t.body not in used]
        for wanted in _STAGE_ORDER[stage]
    ]
    groups.append([t for t in bank if t.body in used])
    for group in groups:
        if not group or len(chosen) >= ARMS_PER_STEP:
            continue
        k = start % len(group)
        rotated = group[k:] + group[:k]
        for angle in list(angles or [])[len(chosen) : ARMS_PER_STEP]:
            match = next((t for t in rotated if t.angle == angle and t not in chosen), None)
            if match is not None:
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


# --- per-person LLM copy ------------------------------------------------------------------


class PersonalDraft(BaseModel):
    """One person's message as the LLM writes it: final text, no template syntax."""

    subject: str | None = None
    """Subject (e-mail); null for SMS."""
    body: str = Field(min_length=1, max_length=4000)
    """Body without footer."""


class PersonalCopyReport(BaseModel):
    """What the per-person LLM copy mode did in one activation."""

    active: bool = False
    """Whether the mode ran (opted in, an LLM and its price configured, audience eligible)."""
    reason: str = ""
    """Why it did not run, or how it ended."""
    ceiling_usd: float = 0.0
    """The campaign's cost ceiling."""
    spent_usd: float = 0.0
    """What the per-person calls cost (prompt and completion tokens at `llm_prices`)."""
    written: int = 0
    """Messages the LLM wrote for one person each."""
    fallback: dict[str, int] = Field(default_factory=dict)
    """Messages rendered from the templates instead, by reason (`cost_ceiling`, `llm_error`,
    `guardrail_block`, `not_high_value`)."""
    stopped_at_ceiling: bool = False
    """True when the ceiling was reached and the rest got the templates."""


_COMPLETION_ESTIMATE = 400
"""Completion tokens assumed for the first call, before any real call's cost is known."""


class PersonalWriter:
    """Writes each person's message with the LLM within the campaign's cost ceiling; every
    message it cannot write (budget spent, model failure, blocked by the guardrails) falls back
    to the template, and the report says how many and why."""

    def __init__(
        self,
        llm: LLMClient,
        kit: BrandKit,
        plan: Plan,
        *,
        prices: Mapping[str, LLMPrice],
        model: str,
        campaign_id: str,
        audience_size: int,
    ) -> None:
        """Decide whether the mode runs for this campaign (see `report.reason` when not)."""
        self.llm = llm
        self.kit = kit
        self.plan = plan
        self.campaign_id = campaign_id
        cfg = plan.personal_copy
        self.report = PersonalCopyReport(ceiling_usd=cfg.max_cost_usd if cfg else 0.0)
        self._price = prices.get(model)
        self._max_cost = 0.0
        if cfg is None:
            self.report.reason = "not requested"
        elif llm.engine != "openai":
            self.report.reason = "no LLM configured: every message from the templates"
        elif self._price is None:
            self.report.reason = (
                f"no price for model {model!r} in llm_prices: the cost ceiling cannot be kept, "
                "so every message comes from the templates"
            )
        elif cfg.min_monetary is None and audience_size > cfg.max_people:
            self.report.reason = (
                f"audience of {audience_size} is above the mode's {cfg.max_people} people and "
                "no high-value threshold is set: every message from the templates"
            )
        else:
            self.report.active = True

    def _fallback(self, reason: str) -> None:
        self.report.fallback[reason] = self.report.fallback.get(reason, 0) + 1

    def write(
        self,
        variant: VariantTemplate,
        context: Mapping[str, Any],
        *,
        monetary: float,
        language: str,
        unsubscribe_url: str,
        recipient: Mapping[str, str],
    ) -> RenderedMessage | None:
        """The person's message written by the LLM and passed by the guardrails, or None
        (the caller renders the template)."""
        cfg = self.plan.personal_copy
        if not self.report.active or cfg is None or self._price is None:
            return None
        if cfg.min_monetary is not None and monetary < cfg.min_monetary:
            self._fallback("not_high_value")
            return None
        offer = self.plan.objective.offer
        base = render_message(
            self.kit, variant, context, unsubscribe_url=unsubscribe_url, language=language
        )
        system = render_prompt(
            "write_personal.j2",
            brand_name=self.kit.name,
            channel=variant.channel.value,
            language=language,
            voice=self.kit.voice.description,
            banned=self.kit.banned_phrases,
            subject_max=self.kit.channel_rules.email.subject_max_length,
        )
        person = {k: context[k] for k in sorted(context) if k not in {"brand_name", "greeting"}}
        base_body = base.body.split("\n--\n", 1)[0]
        approved = {"subject": base.subject, "body": base_body}
        user = delimit("person and approved message", {"person": person, "approved": approved})
        p_in, p_out = self._price.input, self._price.output
        estimate = max(self._max_cost, (len(system) + len(user)) / 4 * p_in / 1e6)
        estimate = max(estimate, _COMPLETION_ESTIMATE * p_out / 1e6)
        if self.report.spent_usd + estimate > cfg.max_cost_usd:
            self.report.stopped_at_ceiling = True
            self.report.reason = f"cost ceiling ${cfg.max_cost_usd:g} reached"
            self._fallback("cost_ceiling")
            return None
        before = (self.llm.prompt_tokens, self.llm.completion_tokens)
        try:
            draft = self.llm.generate(
                "write_personal",
                system=system,
                user=user,
                schema=PersonalDraft,
                offline=lambda: PersonalDraft(subject=base.subject, body=base_body),
                campaign_id=self.campaign_id,
            )
        except LLMError:
            draft = None
        cost = (
            (self.llm.prompt_tokens - before[0]) * p_in
            + (self.llm.completion_tokens - before[1]) * p_out
        ) / 1e6
        self.report.spent_usd = round(self.report.spent_usd + cost, 6)
        self._max_cost = max(self._max_cost, cost)
        if draft is None:
            self._fallback("llm_error")
            return None
        footer_kit = kit_for(self.kit, language)
        subject = (
            draft.subject.strip() if draft.subject and variant.channel != Channel.SMS else None
        )
        msg = RenderedMessage(
            subject=subject,
            body=apply_footer(
                footer_kit, variant.channel, draft.body, unsubscribe_url, offer=offer
            ),
            language=footer_kit.default_locale,
        )
        copy = CopyToCheck(
            channel=variant.channel,
            subject=msg.subject,
            body=msg.body,
            offer=offer,
            system_links=(unsubscribe_url,),
            recipient=dict(recipient),
            locale=msg.language,
        )
        if (
            "{{" in draft.body
            or "{%" in draft.body
            or any(f.severity == Severity.BLOCK for f in check_message(self.kit, copy))
        ):
            self._fallback("guardrail_block")
            return None
        self.report.written += 1
        return msg


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
    language: str | None = None,
) -> RenderedMessage:
    """Render a variant for one person and append the system's compliance footer
    (with the disclaimer the offer requires), in `language` when the variant has a
    translation for it (see `message_language`), else in the kit's default language."""
    subject, body, footer_kit = render_variant(kit, variant, context, language)
    return with_footer(footer_kit, variant.channel, subject, body, unsubscribe_url, offer=offer)


def render_variant(
    kit: BrandKit, variant: VariantTemplate, context: Mapping[str, Any], language: str | None
) -> tuple[str | None, str, BrandKit]:
    """(subject, body) of a variant rendered for one person, before the footer — from its
    translation for `language` when it has one — and the kit in that language, whose footer
    goes with it."""
    text = variant.translations.get(language or "") if language != kit.default_locale else None
    subject_src, body_src = (text.subject, text.body) if text else (variant.subject, variant.body)
    subject = render_template(subject_src, context) if subject_src else None
    return subject, render_template(body_src, context), (kit_for(kit, language) if text else kit)


def with_footer(
    kit: BrandKit,
    channel: Channel,
    subject: str | None,
    body: str,
    unsubscribe_url: str,
    *,
    offer: Offer | None = None,
) -> RenderedMessage:
    """A rendered subject and body as sent: the body with the compliance footer in the kit's
    language."""
    return RenderedMessage(
        subject=subject,
        body=apply_footer(kit, channel, body, unsubscribe_url, offer=offer),
        language=kit.default_locale,
    )


def deterministic(variant: VariantTemplate) -> bool:
    """True unless the variant's templates may draw at random (Jinja's `random` filter or
    `lipsum`): then the same data renders the same text, and a rendering can be reused."""
    texts = [variant.subject or "", variant.body]
    texts += [f"{t.subject or ''}\n{t.body}" for t in variant.translations.values()]
    sources = "\n".join(texts)
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


def _greeting(local_send: datetime | None, words: LocaleText = _ENGLISH) -> str:
    morning, afternoon, evening = words.greetings
    if local_send is None:
        return "Hello" if words is _ENGLISH else morning
    h = local_send.hour
    return morning if h < 12 else afternoon if h < 18 else evening


def featured_product_id(objective: Objective) -> str | None:
    """The product the brief named (`product:<id>` among the audience hints), if any."""
    for hint in objective.audience_hints:
        key, _, value = hint.partition(":")
        if key.strip() == "product" and value.strip():
            return value.strip()
    return None


def pick_product(
    features: CustomerFeatures | None,
    objective: Objective,
    products: Mapping[str, Product],
    fallbacks: Mapping[str | None, Product],
    *,
    recommended: Sequence[str] = (),
    owned: Collection[str] = (),
) -> Product | None:
    """The product a person's message features.

    A launch features the product the brief named, for everyone, and never another one
    (launch copy calls what it features new; the planner asks for the product when a launch
    brief names none from the catalog). Otherwise: the named product (unless the person owns
    it), the cart's product for cart recovery, then the person's recommendations
    (`recommended`: what goes with what they own), then what they last viewed and the
    best-sellers; never a product in `owned` (what they bought).
    """
    named = featured_product_id(objective)
    goal = objective.goal.value
    if goal == "product_launch":
        return products.get(named) if named is not None else None
    if named is not None and named in products and named not in owned:
        return products[named]
    cart = features.last_cart_product_id if features is not None else None
    if goal == "cart_recovery" and cart is not None and cart in products:
        return products[cart]  # what is in the cart, even if they bought it before
    candidates: list[str | None] = list(recommended)
    if features is not None:
        candidates.append(features.last_viewed_product_id)
        fav = fallbacks.get(features.favorite_category)
        candidates.append(fav.id if fav else None)
    overall = fallbacks.get(None)
    candidates.append(overall.id if overall else None)
    for pid in candidates:
        if pid and pid in products and pid not in owned:
            return products[pid]
    return None


def person_context(
    kit: BrandKit,
    objective: Objective,
    customer: Customer,
    product: Product | None,
    *,
    features: CustomerFeatures | None,
    local_send: datetime | None,
    language: str | None = None,
) -> dict[str, Any]:
    """The template variables for one person, from their own data only, with the system's
    words (offer, greeting, category) in `language` (the message's, see `message_language`)."""
    offer = objective.offer
    words = _words(kit, language)
    category = (product.category if product else None) or (
        features.favorite_category if features else None
    )
    return {
        "first_name": clean_first_name(customer.first_name),
        "brand_name": kit.name,
        "product_name": product.name if product else words.fallback_product,
        "product_url": product.url if product else kit.site_url,
        "category": words.categories.get(category, category) if category else "new arrivals",
        "offer_text": offer_text(offer, kit.currency, words),
        "code": offer.code or "",
        "expires": offer.expires or "",
        "shop_url": kit.site_url,
        "greeting": _greeting(local_send, words),
    }


def preview_contexts(
    kit: BrandKit, objective: Objective, *, language: str | None = None
) -> list[dict[str, Any]]:
    """Synthetic people for checking templates before any real person is rendered (the
    system's words in `language`)."""
    words = _words(kit, language)
    base = {
        "brand_name": kit.name,
        "product_name": "Trailhead 40L Pack",
        "product_url": kit.site_url.rstrip("/") + "/p/preview",
        "category": words.categories.get("outdoor", "outdoor"),
        "offer_text": offer_text(objective.offer, kit.currency, words),
        "code": objective.offer.code or "",
        "expires": objective.offer.expires or "",
        "shop_url": kit.site_url,
        "greeting": words.greetings[0],
    }
    return [{**base, "first_name": "Alex"}, {**base, "first_name": ""}]
