"""The creep guard: sensitive traits block when the copy attributes them to the reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import check_message
from brand_guardrails.checks import privacy
from brand_guardrails.checks.creep import CreepGuard
from brand_guardrails.kit import load_brand_kit
from brand_guardrails.message import CopyToCheck
from core.models import Channel, Severity

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")
GUARD = CreepGuard()


def _categories(text: str) -> set[str]:
    return {a.category for a in GUARD.scan(text)}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("As a devout Muslim you will love our Ramadan collection", "religion"),
        ("Your 12-year-old daughter Emma would love our new swimwear", "children"),
        ("Expecting a baby? Our maternity deals start now", "pregnancy"),
        ("Struggling with debt? Treat yourself anyway with pay-later", "finances"),
        ("Your son Liam turns 8 next week: party packs are 20% off.", "children"),
        ("Living with arthritis? These easy-grip poles make every walk lighter.", "health"),
        ("We saw you at the Elm Street park this morning! Grab a coffee on us.", "location"),
        ("You're turning 60, so slow down with our comfy walking shoes.", "age"),
        ("As a gay man, you'll love our Pride capsule.", "sexuality"),
        ("As a Black woman, you know how hard it is to find good hiking boots.", "ethnicity"),
        ("Schwanger? Unsere Umstandsjacken sind jetzt 20 % günstiger.", "pregnancy"),
        ("Ihre 12-jährige Tochter wird unsere neue Badekollektion lieben.", "children"),
        ("Vous êtes enceinte ? Découvrez notre collection maternité.", "pregnancy"),
        ("¿Tienes deudas? Date un capricho con pago aplazado.", "finances"),
    ],
)
def test_traits_attributed_to_the_reader_block(text: str, category: str) -> None:
    assert category in _categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "New research on cancer therapy published this week: what it means for outdoor workers.",
        "How the economic depression of the 1930s shaped American workwear.",
        "Free diagnostics for your bike at every store this weekend.",
        "Celebrate vegan pregnancy with our friends at Green Table: recipes inside.",
        "Our Ramadan collection is here: light layers for evening walks.",
        "Are you expecting a delivery this week? Track it in your account.",
        "Black Friday: 30% off everything.",
        "Back-to-school deals for the whole family: kids' backpacks from $29.",
        "Find a store near you with our store locator.",
        "You're 20% away from free shipping.",
        "Meet Emma, our head designer, and her new swimwear line.",
        "Debt-free degree? Our scholarship fund helps 20 students a year.",
    ],
)
def test_topics_in_neutral_context_pass(text: str) -> None:
    assert _categories(text) == set()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Herzlichen Glückwunsch zur Schwangerschaft, Anna!", "pregnancy"),
        ("Alles Gute zur Schwangerschaft! Dein Gutschein wartet.", "pregnancy"),
        ("Congrats on the pregnancy! Here's 10% off in our baby shop.", "pregnancy"),
        ("Money tight this month, Jess? Our budget range has you covered.", "finances"),
        ("Is money tight, Jess?", "finances"),
        ("Still fighting that cancer, Tom?", "health"),
        ("Happy first trimester, Chloe!", "pregnancy"),
        ("Bon Ramadan, Karim ! Nos coffrets de dattes sont arrivés.", "religion"),
        ("Happy Diwali, Priya!", "religion"),
        ("Expecting, Anna?", "pregnancy"),
        ("Are you expecting, Anna?", "pregnancy"),
        ("Going to church on Sunday, Sam?", "religion"),
        # asking whether the reader observes a festival attributes it
        ("Celebrating Eid this year, Omar?", "religion"),
        ("Celebrating Diwali? Light up the garden with our lanterns.", "religion"),
        ("Tu fêtes l'Aïd cette année, Karim ?", "religion"),
        ("Il fête l'Aïd, Karim ?", "religion"),
        ("Ready to fast this Ramadan, Karim?", "religion"),
        ("Ready for the Ramadan fast, Karim?", "religion"),
        ("Keeping Ramadan this year, Karim?", "religion"),
        ("Vous faites le Ramadan, Karim ?", "religion"),
        ("¿Haces el Ramadán, Karim?", "religion"),
        ("Ramadan Mubarak, Karim?", "religion"),
        # a religious object that is the reader's own
        ("Ready for Hanukkah, David? Your menorah deserves new candles.", "religion"),
        ("Ready for Diwali, Priya? Your puja kit is waiting.", "religion"),
        # folding changes the length ("ß" → "ss"): the name is read in the original sentence
        ("Schöne Fastenzeit, Frau Strauß!", "religion"),
        ("Grüße vom Team. Happy third trimester, Chloe!", "pregnancy"),
        ("Thanks from the team. Happy third trimester, Chloe!", "pregnancy"),
        ("Your credit card was declined last time, so try our pay-later option.", "finances"),
    ],
)
def test_a_reader_congratulated_or_asked_by_name_about_a_trait_blocks(
    text: str, category: str
) -> None:
    assert category in _categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "Your card was declined. Please update your payment details to complete order #4411.",
        "Your payment was declined, so your order is on hold until you update your card.",
        "Congratulations, Anna! You've reached Gold status.",
        "Herzlichen Glückwunsch zum Geburtstag, Anna!",
        "Happy Ramadan to everyone who celebrates: our stores stay open late.",
        "Thank you for supporting the children's hospital appeal, Lisa!",
        "Congratulations to all the new mums in our running club!",
        "Ready for the weekend, Jess?",
        # a festival in a question is a date on everyone's calendar, not the reader's faith
        "Ready for Diwali, Priya?",
        "Ready for Christmas, Sam?",
        "Any plans for Passover, Ben? Our picnic sets are 20% off.",
        "Ready for Ramadan, Karim? Our stores stay open late.",
        "Prêt pour l'Aïd, Karim ?",
        "Ready for Diwali? Our lantern range is in.",
        "Fast delivery before Diwali, Priya?",
        "Fastest delivery before Diwali, Priya?",
        "Prêt pour la fête de l'Aïd, Karim ?",
        "Shop menorahs for Hanukkah: eight nights, eight colours.",
        # "expecting" as something other than a baby
        "Not what you were expecting, right?",
        "More than you were expecting, Sam!",
        "Was it what you were expecting, Sam?",
        "Still expecting, Anna? Your parcel is on its way.",
        "Ready for the Diwali celebrations, Priya?",
    ],
)
def test_order_updates_and_ordinary_congratulations_pass(text: str) -> None:
    assert _categories(text) == set()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Você está grávida? A nossa linha de gestante chegou.", "pregnancy"),
        ("Parabéns pela gravidez, Ana! Ganhe 15% em roupas de maternidade.", "pregnancy"),
        ("Você sofre de dores nas costas? Experimente a nossa mochila.", "health"),
        ("Contas apertadas este mês, João? Parcele em 10x.", "finances"),
        ("Sabemos que o dinheiro está curto: aproveite 20% de desconto.", "finances"),
        ("A sua filha Sofia faz 8 anos no sábado.", "children"),
        ("Agora que você tem 65 anos, conheça a nossa linha.", "age"),
    ],
)
def test_portuguese_traits_attributed_to_the_reader_block(text: str, category: str) -> None:
    assert category in _categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "Nova coleção para gestantes: vestidos em algodão orgânico.",
        "O seu pedido de roupas de maternidade foi enviado.",
        "O seu pagamento foi recusado. Atualize os dados do cartão.",
        "A nossa caixa de Ramadã chegou: tâmaras e chás.",
        "Você sabia? A enxaqueca afeta uma em cada sete pessoas.",
        "Pague em até 10x sem juros no cartão.",
    ],
)
def test_portuguese_topics_in_neutral_context_pass(text: str) -> None:
    assert _categories(text) == set()


def test_a_finding_names_the_category_and_how() -> None:
    msg = CopyToCheck(channel=Channel.SMS, body="Expecting a baby? Our maternity deals start now")
    (f,) = [f for f in check_message(KIT, msg) if f.rule_id == "privacy.sensitive_topic"]
    assert f.severity == Severity.BLOCK and f.span == "Expecting a baby"
    assert "(pregnancy; asked of the reader)" in f.explanation


def test_the_kits_own_topics_need_attribution_too() -> None:
    kit = KIT.model_copy(update={"sensitive_topics": ["scuba certification"]})

    def spans(body: str) -> list[str | None]:
        return [f.span for f in privacy.check(kit, CopyToCheck(channel=Channel.SMS, body=body))]

    assert spans("Your scuba certification expires soon: renew with us.") == ["scuba certification"]
    assert spans("Scuba certification courses start in June.") == []


def test_a_topic_the_kit_phrases_with_you_blocks_by_itself() -> None:
    msg = CopyToCheck(channel=Channel.PUSH, body="Shops near your home are out of stock.")
    assert [f.rule_id for f in privacy.check(KIT, msg)] == ["privacy.sensitive_topic"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # the reader as subject, per language (German -st, Spanish verb forms, "leiden unter")
        ("Da Sie unter Bluthochdruck leiden, sind unsere salzarmen Snacks ideal.", "health"),
        ("¿Sufres de ansiedad? Prueba nuestras infusiones relajantes.", "health"),
        ("Du fastest gerade im Ramadan, also kommt dein Iftar-Paket pünktlich.", "religion"),
        # "As …" at the start of a sentence, with or without "you" after it
        ("As someone who keeps kosher, you'll like our new deli range.", "religion"),
        ("As a Korean American, you'll love our Seoul-inspired line.", "ethnicity"),
        ("Als Türkin werden Sie unsere neue Kollektion lieben.", "ethnicity"),
        # the brand says it knows; a greeting by name; a form of address
        ("We know money has been tight lately, so here's 30% off.", "finances"),
        ("Eid Mubarak, Yusuf! Enjoy 15% off sweets tonight.", "religion"),
        ("Happy Pride, queer friend! Your rainbow tee is 20% off.", "sexuality"),
        # where the reader is, how old, their child, their baby on the way
        ("Saw you checked in at Gatwick this morning, so travel gear is 10% off.", "location"),
        ("Happy 70th, Margaret! A gift is waiting in store.", "age"),
        ("Mit Ihren 65 Jahren verdienen Sie bequeme Schuhe.", "age"),
        ("Since Noah turns 7 on Friday, here are birthday gifts he'll love.", "children"),
        ("Only a few weeks until your baby arrives: the carrier is 15% off.", "pregnancy"),
        ("Congrats, new mum! Here's 15% off the sling.", "pregnancy"),
        ("Skint until payday? Spread the cost with Klarna.", "finances"),
    ],
)
def test_attribution_read_from_the_wording_around_a_term(text: str, category: str) -> None:
    assert category in _categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tu aimes notre collection Ramadan ? Elle est en boutique.",
        "Your order of prenatal vitamins has shipped.",
        "As a Catholic charity, we collect winter coats every December.",
        "Your Italian leather bag is back in stock.",
        "Check the condition of your tent before each trip.",
        "You're in Good Hands with our 2-year warranty.",
        "Is this your first order? Our maternity guide is free.",
        "Planning a baby shower? Our party range has you covered.",
        "Du bist gerade im Urlaub? Wir halten deine Bestellung zurück.",
        "You are currently subscribed to Northwind News as dana@example.com.",
        "Your invoice due date is 12 May.",
        "¿Vacaciones en Semana Santa? Nuestras maletas, -20 %.",
        "Vous habitez à Paris ? Livraison en 2 h.",
        "Gifts for new mums, all under 30 euros.",
        "Our breastfeeding guide is free to download.",
        "Celebrate with the whole LGBTQ+ family!",
    ],
)
def test_the_brands_own_things_and_the_readers_orders_do_not_attribute(text: str) -> None:
    assert _categories(text) == set()


def test_the_shipped_guard_does_not_block_a_disclaimer_the_classifier_did() -> None:
    msg = CopyToCheck(
        channel=Channel.EMAIL,
        subject="Your 10K plan",
        body="Consult your doctor before starting any new exercise programme.",
    )
    assert [f for f in check_message(KIT, msg) if f.rule_id == "privacy.sensitive_topic"] == []
