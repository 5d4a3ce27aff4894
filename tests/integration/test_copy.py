"""Copy worth sending, on the seeded sample world: every journey step has its own message, and a
person's recommendations never name what they already own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from agents.activation import PersonRenderer, choose_arm
from agents.content import write_variants
from agents.review import review_variant
from brand_guardrails.checker import check_message
from brand_guardrails.kit import load_brand_kit
from core.catalog import list_products, purchase_history
from core.customers import get_customers
from core.models import (
    Channel,
    Goal,
    JourneyStep,
    Objective,
    Offer,
    Plan,
    Severity,
    VariantTemplate,
    VariantText,
)
from core.settings import Settings
from graphs.runtime import Deps
from tests.integration.conftest import NOW, seeded
from tests.support.marketing_llm import MarketingLLM
from tests.support.openai_server import OpenAIServer
from tools.llm import LLMClient


@pytest.fixture
def shop(settings: Settings) -> Iterator[Deps]:
    """A seeded world (no rules index: these tests render, they do not retrieve rules)."""
    deps = seeded(settings, customers=500, with_rules=False)
    yield deps
    deps.db.dispose()


def _journey(n: int) -> list[JourneyStep]:
    steps = [JourneyStep(id="s1", channel=Channel.EMAIL, content_brief="Come back")]
    for i in range(2, n + 1):
        steps.append(
            JourneyStep(
                id=f"s{i}",
                channel=Channel.EMAIL,
                delay_hours=72 * (i - 1),
                condition="not_converted",
                content_brief="Remind them",
            )
        )
    return steps


def _plan(goal: Goal, steps: int, hints: Sequence[str] = ()) -> Plan:
    objective = Objective(
        name="t",
        goal=goal,
        offer=Offer(kind="percent_off", percent=10, code="COMEBACK10", expires="Sunday"),
        audience_hints=list(hints),
    )
    return Plan(objective=objective, audiences=[], journey=_journey(steps))


def _variants(deps: Deps, plan: Plan) -> list[VariantTemplate]:
    out: list[VariantTemplate] = []
    angles: list[str] | None = None
    for step in plan.journey:
        written = write_variants(
            deps.llm,
            deps.kit,
            objective=plan.objective,
            step=step,
            rules=[],
            campaign_id="cmp_copy",
            angles=angles,
            journey=plan.journey,
            earlier=out,
        )
        angles = angles or [v.angle for v in written]
        out += written
    return out


def _buyers(deps: Deps) -> dict[str, list[str]]:
    return purchase_history(deps.db, as_of=NOW)


def _copy_without_footer(body: str) -> str:
    return body.split("\n--\n", 1)[0]


@pytest.mark.parametrize("steps", [2, 3])
def test_each_step_has_its_own_message_for_the_same_person(shop: Deps, steps: int) -> None:
    plan = _plan(Goal.WINBACK, steps)
    variants = _variants(shop, plan)
    people = sorted(_buyers(shop))[:60]
    renderer = PersonRenderer(shop.db, shop.settings, shop.kit, plan, as_of=NOW)
    renderer.load(shop.db, people)
    arms_seen: set[str] = set()
    for cid in people:
        customer = renderer.customers[cid]
        subjects: list[str | None] = []
        bodies: list[str] = []
        for i, step in enumerate(plan.journey):
            mine = [v for v in variants if v.step_id == step.id]
            variant, _ = choose_arm("cmp_copy", cid, mine)
            arms_seen.add(variant.arm)
            copy, _ = renderer.render("cmp_copy", variant, customer, NOW + timedelta(days=3 * i))
            subjects.append(copy.subject)
            bodies.append(_copy_without_footer(copy.body))
        assert len(set(subjects)) == steps, subjects
        assert len(set(bodies)) == steps, bodies
        # not only different: no paragraph of the first message comes back in a later one
        first = {p.strip() for p in bodies[0].split("\n\n")[1:-1] if p.strip()}
        for later in bodies[1:]:
            assert first.isdisjoint(p.strip() for p in later.split("\n\n")), later
    assert arms_seen == {"A", "B"}


def test_later_steps_are_written_as_reminders_and_the_last_as_last_call(shop: Deps) -> None:
    plan = _plan(Goal.PROMOTION, 3)
    by_step: dict[str, list[VariantTemplate]] = {}
    for v in _variants(shop, plan):
        by_step.setdefault(v.step_id, []).append(v)
    stages = {t.body: t.stage for t in shop.kit.copy_bank}
    assert {stages[v.body] for v in by_step["s1"]} == {"first"}
    assert {stages[v.body] for v in by_step["s2"]} == {"reminder"}
    assert "last_chance" in {stages[v.body] for v in by_step["s3"]}


def _featured(shop: Deps, plan: Plan, people: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Person → (featured product id, rendered first-step body)."""
    variants = [v for v in _variants(shop, plan) if v.step_id == "s1"]
    renderer = PersonRenderer(shop.db, shop.settings, shop.kit, plan, as_of=NOW)
    renderer.load(shop.db, people)
    out: dict[str, tuple[str, str]] = {}
    for cid in people:
        variant, _ = choose_arm("cmp_copy", cid, variants)
        copy, product = renderer.render("cmp_copy", variant, renderer.customers[cid], NOW)
        assert product is not None
        out[cid] = (product.id, copy.body)
    return out


def test_winback_never_recommends_what_the_person_owns(shop: Deps) -> None:
    owned = _buyers(shop)
    names = {p.id: p.name for p in list_products(shop.db)}
    people = sorted(owned)
    featured = _featured(shop, _plan(Goal.WINBACK, 1), people)
    suits = 0
    for cid, (pid, body) in featured.items():
        assert pid not in owned[cid], (cid, pid, owned[cid])
        for name in {names[p] for p in owned[cid]}:
            assert not re.search(rf"\bthe {re.escape(name)}\b", body), (cid, name, body)
        suits += "would suit the way you get outside" in body
    assert suits > 0  # the personal arm ("We think the X would suit you") was rendered
    # personal, not one product for everyone
    assert len({pid for pid, _ in featured.values()}) >= 5


def test_a_launch_features_the_launched_product_for_everyone(shop: Deps) -> None:
    products = list_products(shop.db)
    launched = products[-1]
    people = sorted(_buyers(shop))[:80]
    plan = _plan(Goal.PRODUCT_LAUNCH, 1, hints=[f"product:{launched.id}"])
    featured = _featured(shop, plan, people)
    assert {pid for pid, _ in featured.values()} == {launched.id}
    assert all(launched.name in body for _, body in featured.values())


def test_each_person_reads_the_journey_in_their_language(shop: Deps) -> None:
    plan = _plan(Goal.WINBACK, 2)
    variants = _variants(shop, plan)
    assert all(set(v.translations) == {"de", "fr", "ja", "pt"} for v in variants)
    customers = get_customers(shop.db, sorted(_buyers(shop)))
    by_lang: dict[str, list[str]] = {}
    for cid, c in customers.items():
        by_lang.setdefault(shop.kit.language_of(c.locale), []).append(cid)
    assert set(by_lang) == {"en", "de", "fr", "ja", "pt"}, set(by_lang)
    people = [cid for ids in by_lang.values() for cid in ids[:8]]
    renderer = PersonRenderer(shop.db, shop.settings, shop.kit, plan, as_of=NOW)
    renderer.load(shop.db, people)
    unsubscribe = {
        "en": "Unsubscribe: ",
        **{k: v.footer.unsubscribe + ": " for k, v in shop.kit.locales.items()},
    }
    for cid in people:
        customer = customers[cid]
        lang = shop.kit.language_of(customer.locale)
        bodies = []
        for step in plan.journey:
            mine = [v for v in variants if v.step_id == step.id]
            variant, _ = choose_arm("cmp_copy", cid, mine)
            copy, _ = renderer.render("cmp_copy", variant, customer, NOW)
            assert copy.locale == lang
            assert unsubscribe[lang] in copy.body, (lang, copy.body)
            if lang != "en":
                assert copy.subject == renderer_subject(shop, variant, lang, copy.subject)
                assert "Unsubscribe:" not in copy.body
            blocks = [f for f in check_message(shop.kit, copy) if f.severity == Severity.BLOCK]
            assert blocks == [], (lang, blocks, copy.body)
            bodies.append(_copy_without_footer(copy.body))
        assert bodies[0] != bodies[1]


def renderer_subject(
    shop: Deps, variant: VariantTemplate, lang: str, rendered: str | None
) -> str | None:
    """The rendered subject when it came from the translation (its fixed words are in it)."""
    source = variant.translations[lang].subject or ""
    fixed = [w for w in re.split(r"\{\{.*?\}\}", source) if w.strip()]
    assert rendered is not None and all(w.strip() in rendered for w in fixed), (source, rendered)
    return rendered


def test_the_llm_writes_each_language_and_translations_are_checked(settings: Settings) -> None:
    writer = MarketingLLM()
    with OpenAIServer(writer) as server:
        s = settings.model_copy(
            update={"openai_api_key": "sk-test", "openai_base_url": server.base_url}
        )
        llm = LLMClient(s, retry_wait_s=0.01)
        kit = load_brand_kit(s.brand_path)
        plan = _plan(Goal.WINBACK, 1)
        written = write_variants(
            llm, kit, objective=plan.objective, step=plan.journey[0], rules=[], campaign_id="c"
        )
        llm.close()
    assert writer.translate_calls == ["de", "fr", "ja", "pt"]
    prompts = [r["messages"][0]["content"] for r in server.requests[1:]]
    assert all(
        f'language with code "{lang}"' in p
        for p, lang in zip(prompts, ["de", "fr", "ja", "pt"], strict=True)
    )
    for v in written:
        assert set(v.translations) == {"de", "fr", "ja", "pt"}
        assert v.translations["de"].body == f"(de) {v.body}"
    # review checks each translation in its language (here: English words under a German
    # footer pass the German checks, and a broken translation is caught)
    broken = written[0].model_copy(
        update={"translations": {"de": VariantText(subject="x", body="{{ nope }}")}}
    )
    findings = review_variant(kit, broken, plan.objective)
    assert any(
        f.rule_id == "tokens.template_error" and "(de translation)" in f.explanation
        for f in findings
    )
