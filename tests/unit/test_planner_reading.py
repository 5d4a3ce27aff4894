"""Planner: fixed amounts off, typos in key words, several delays, launches of catalog products
(offline engine; the launch check applies to any engine)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agents.content import pick_product
from agents.planner import FollowUp, _offline_parse, draft_plan, offer_words, parse_brief
from core.models import BriefParse, Channel, Goal, Objective, Offer, Product
from core.settings import Settings
from tools.llm import LLMClient

CATS = ["outdoor", "apparel", "footwear", "home", "accessories"]
NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)  # a Wednesday


def _product(pid: str, name: str, category: str, launched: date | None = None) -> Product:
    return Product(
        id=pid,
        name=name,
        category=category,
        price=100,
        url=f"https://northwind.example/p/{pid}",
        launched=launched,
    )


CATALOG = [
    _product("p1", "Cloudstep Hiking Boot", "footwear"),
    _product("p2", "Storm Hoodie", "apparel", date(2026, 10, 20)),
    _product("p3", "Storm Flannel Shirt", "apparel", date(2024, 3, 1)),
    _product("p4", "Ridge Tent", "outdoor"),
    _product("p5", "Outdor Chair", "home"),
]


@pytest.fixture
def llm(settings: Settings) -> LLMClient:
    return LLMClient(settings)


def _read(llm: LLMClient, brief: str, *answers: str) -> BriefParse:
    """The brief (and answers) read against `CATALOG` on Wednesday 4 November 2026."""
    follow_ups = [FollowUp(kind="answer", text=a) for a in answers]
    return parse_brief(
        llm, brief, categories=CATS, now=NOW, products=CATALOG, follow_ups=follow_ups
    )


# --- 1. fixed amounts off --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brief", "amount", "currency", "minimum"),
    [
        ("Win back lapsed customers with $10 off, email.", 10, "USD", None),
        ("Win back lapsed customers with £5 off orders over £50, email.", 5, "GBP", 50),
        (
            "Lapsed customers zurückgewinnen: 10 € Rabatt ab 50 € Bestellwert, per E-Mail.",
            10,
            "EUR",
            50,
        ),
        ("Promotion for apparel fans: save $7.50 on any order of $40, by SMS.", 7.5, "USD", 40),
        ("Aktion für Schuhfans: 15 Euro Rabatt, per E-Mail.", 15, "EUR", None),
    ],
)
def test_a_fixed_amount_off_is_an_offer_with_its_currency(
    brief: str, amount: float, currency: str, minimum: float | None
) -> None:
    res = _offline_parse(brief, CATS, NOW)
    assert res.objective is not None, res.questions
    offer = res.objective.offer
    assert (offer.kind, offer.amount, offer.currency, offer.min_order) == (
        "amount_off",
        amount,
        currency,
        minimum,
    )


def test_an_amount_offer_is_said_back_with_its_sign_and_minimum() -> None:
    offer = Offer(kind="amount_off", amount=5, currency="GBP", min_order=50, code="FIVE")
    assert offer_words(offer) == "£5 off orders over £50 with code FIVE"
    assert offer_words(Offer(kind="amount_off", amount=12.5, currency="EUR")) == "€12.50 off"


def test_a_percent_still_wins_over_an_amount_in_the_same_brief() -> None:
    res = _offline_parse("Promotion: 20% off everything over $100, email.", CATS, NOW)
    assert res.objective is not None
    assert (res.objective.offer.kind, res.objective.offer.percent) == ("percent_off", 20)


# --- 2. typos in key words -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brief", "goal", "typo", "read_as"),
    [
        (
            "winbak for people who havent ordered in 4 months, email",
            Goal.WINBACK,
            "winbak",
            "winback",
        ),
        (
            "cros-sell accessories to footwear buyers, email",
            Goal.CROSS_SELL,
            "cros-sell",
            "cross-sell",
        ),
        ("Abandoned cart remnder by SMS", Goal.CART_RECOVERY, "remnder", "reminder"),
        ("Lanch the Ridge Tent to outdoor fans, emial", Goal.PRODUCT_LAUNCH, "Lanch", "launch"),
        ("Warenkrob-Erinnerung per SMS", Goal.CART_RECOVERY, "Warenkrob", "warenkorb"),
    ],
)
def test_typos_in_key_words_are_read_and_said(
    brief: str, goal: Goal, typo: str, read_as: str
) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert res.objective is not None, res.questions
    assert res.objective.goal == goal
    assert f"Read “{typo}” as “{read_as}”." in res.assumptions


def test_a_misspelt_channel_is_read() -> None:
    res = _offline_parse("Lanch the Ridge Tent to outdoor fans, emial", CATS, NOW, CATALOG)
    assert res.objective is not None
    assert res.objective.channels == [Channel.EMAIL]
    assert "No channel named: using e-mail." not in res.assumptions


@pytest.mark.parametrize(
    "brief",
    [
        # real words one edit from planner words: not typos, and not read as a goal
        "Send our retail customers a note about the royal lunch, email.",
        # a catalog product's name one edit from "outdoor" is the product, not a category
        "Something for the Outdor Chair by push.",
    ],
)
def test_real_words_and_product_names_are_not_corrected(brief: str) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert not any(a.startswith("Read “") for a in res.assumptions)
    assert res.objective is None  # no goal: asks, as before


def test_a_product_word_is_never_corrected_even_with_a_goal() -> None:
    res = _offline_parse("Launch the Outdor Chair by push.", CATS, NOW, CATALOG)
    assert res.objective is not None
    assert "category:outdoor" not in res.objective.audience_hints
    assert "product:p5" in res.objective.audience_hints
    assert not any(a.startswith("Read “") for a in res.assumptions)


def test_goal_words_are_not_corrected_when_the_brief_has_a_goal() -> None:
    # "retail" would be one edit from "retain" — but the brief already says what it wants
    res = _offline_parse("Promo for our retial partners: 10% off, email.", CATS, NOW)
    assert res.objective is not None and res.objective.goal == Goal.PROMOTION
    assert not any("retain" in a for a in res.assumptions)


# --- 3. several delays -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "brief",
    [
        "Win back lapsed customers: e-mail now, SMS 2 days later, push a week after that.",
        "Inaktive Kunden zurückholen: erst E-Mail, zwei Tage später SMS, eine Woche danach Push.",
    ],
)
def test_each_step_gets_its_own_delay(llm: LLMClient, brief: str) -> None:
    res = _offline_parse(brief, CATS, NOW)
    assert res.objective is not None, res.questions
    plan = draft_plan(llm, res.objective, categories=CATS)
    assert [(s.channel, s.delay_hours) for s in plan.journey] == [
        (Channel.EMAIL, 0),
        (Channel.SMS, 48),
        (Channel.PUSH, 48 + 168),
    ]
    assert [s.condition for s in plan.journey] == ["always", "not_converted", "not_converted"]
    assert len({s.content_brief for s in plan.journey}) == 3
    assert any("after the previous step" in a for a in res.assumptions)


def test_a_channel_named_again_later_gets_its_own_step(llm: LLMClient) -> None:
    res = _offline_parse(
        "Cart recovery: email first, then SMS a day later, then a final email 3 days after that.",
        CATS,
        NOW,
    )
    assert res.objective is not None
    plan = draft_plan(llm, res.objective, categories=CATS)
    assert [(s.channel, s.delay_hours) for s in plan.journey] == [
        (Channel.EMAIL, 0),
        (Channel.SMS, 24),
        (Channel.EMAIL, 96),
    ]


def test_three_channels_and_no_delay_keep_every_channel(llm: LLMClient) -> None:
    res = _offline_parse("Win back lapsed customers by email, SMS and push.", CATS, NOW)
    assert res.objective is not None
    plan = draft_plan(llm, res.objective, categories=CATS)
    assert [s.channel for s in plan.journey] == [Channel.EMAIL, Channel.SMS, Channel.PUSH]
    assert [s.delay_hours for s in plan.journey] == [0, 72, 144]


# --- 4. launches of catalog products -------------------------------------------------------


def test_a_launch_of_a_product_not_in_the_catalog_asks_which(llm: LLMClient) -> None:
    res = _read(llm, "Launch the new Storm Rain Jacket to apparel fans by email.")
    assert res.objective is None
    assert len(res.questions) == 1
    q = res.questions[0]
    assert "Storm Rain Jacket" in q and "not in the catalog" in q
    assert "Storm Hoodie" in q and "Storm Flannel Shirt" in q
    assert not any("features the category's products" in a for a in res.assumptions)


def test_a_german_launch_of_an_unknown_product_asks_in_german(llm: LLMClient) -> None:
    res = _read(
        llm, "Die neue Storm Regenjacke nächsten Dienstag per Push an Bekleidungsfans ankündigen."
    )
    assert res.objective is None
    assert res.questions[0].startswith("Welches Produkt")
    assert "„Storm Regenjacke“" in res.questions[0] and "Storm Hoodie" in res.questions[0]


def test_the_answer_naming_a_catalog_product_continues_the_launch(llm: LLMClient) -> None:
    res = _read(
        llm, "Launch the new Storm Rain Jacket to apparel fans by email.", "The Storm Hoodie"
    )
    assert res.objective is not None, res.questions
    assert res.objective.goal == Goal.PRODUCT_LAUNCH
    assert "product:p2" in res.objective.audience_hints


def test_a_launch_naming_no_product_asks_instead_of_picking_one(llm: LLMClient) -> None:
    res = _read(llm, "Launch our new collection to apparel fans by email.")
    assert res.objective is None
    assert "Which product" in res.questions[0]


def test_a_launch_of_a_product_the_catalog_dates_long_ago_asks(llm: LLMClient) -> None:
    res = _read(llm, "Launch the new Storm Flannel Shirt to apparel fans by email.")
    assert res.objective is None
    assert "2024-03-01" in res.questions[0] and "not new" in res.questions[0]


def test_a_launch_of_a_recent_or_undated_catalog_product_plans(llm: LLMClient) -> None:
    recent = _read(llm, "Launch the Storm Hoodie by email.")
    assert recent.objective is not None and "product:p2" in recent.objective.audience_hints
    assert not any("no launch date" in a for a in recent.assumptions)
    undated = _read(
        llm,
        "Launch our new Cloudstep Hiking Boot to people who bought a tent from us. Email first, "
        "then an SMS reminder two days later to anyone who didn't click.",
    )
    assert undated.objective is not None and "product:p1" in undated.objective.audience_hints
    assert any("no launch date for the Cloudstep Hiking Boot" in a for a in undated.assumptions)


def test_without_a_catalog_a_launch_is_not_held(llm: LLMClient) -> None:
    res = parse_brief(llm, "Launch the Storm Rain Jacket by email.", categories=CATS, now=NOW)
    assert res.objective is not None and res.objective.goal == Goal.PRODUCT_LAUNCH


def test_launch_copy_features_only_the_launched_product() -> None:
    products = {p.id: p for p in CATALOG}
    fallbacks = {None: products["p4"], "apparel": products["p3"]}
    launch = Objective(name="l", goal=Goal.PRODUCT_LAUNCH, audience_hints=["product:p2"])
    assert pick_product(None, launch, products, fallbacks, recommended=["p1"]) == products["p2"]
    # no launched product: nothing else is presented as "the newest addition"
    unnamed = launch.model_copy(update={"audience_hints": []})
    assert pick_product(None, unnamed, products, fallbacks, recommended=["p1"]) is None
    other = unnamed.model_copy(update={"goal": Goal.CROSS_SELL})
    assert pick_product(None, other, products, fallbacks, recommended=["p1"]) == products["p1"]


# --- 5. German purchase and behaviour audiences ----------------------------------------------


@pytest.mark.parametrize(
    ("german", "english", "hint"),
    [
        (
            "Winback per E-Mail an alle, die ein Zelt gekauft haben.",
            "Win back everyone who bought a tent, by email.",
            "bought:tent",
        ),
        (
            "Winback per E-Mail: alle, die schon mal Stiefel bei uns gekauft haben.",
            "Win back everyone who bought boots, by email.",
            "bought:boot",
        ),
        (
            "Winback per E-Mail an Kunden, die mehr als 200 € ausgegeben haben.",
            "Win back customers who spent over $200, email.",
            "monetary_gt:200",
        ),
        (
            "Winback per SMS an alle, die nie eine E-Mail geöffnet haben.",
            "Win back people who never opened an email, by SMS.",
            "opens_eq:0",
        ),
        (
            "Cross-Selling per E-Mail an alle, die in den letzten 30 Tagen gekauft haben.",
            "Cross-sell to everyone who bought in the last 30 days, email.",
            "recency_days_lte:30",
        ),
    ],
)
def test_german_audiences_read_as_their_english_counterparts(
    german: str, english: str, hint: str
) -> None:
    de = _offline_parse(german, CATS, NOW, CATALOG)
    en = _offline_parse(english, CATS, NOW, CATALOG)
    assert de.objective is not None and en.objective is not None, (de.questions, en.questions)
    assert hint in de.objective.audience_hints
    assert de.objective.audience_hints == en.objective.audience_hints
    assert de.objective.channels == en.objective.channels
    # the same assumptions, plus the German word said back where it was translated
    for said in en.assumptions:
        assert any(a.startswith(said.rstrip(".")) for a in de.assumptions), (said, de.assumptions)


def test_a_translated_purchase_word_is_said_back() -> None:
    res = _offline_parse(
        "Winback per E-Mail an alle, die ein Zelt gekauft haben.", CATS, NOW, CATALOG
    )
    assert any("'tent'" in a and "read 'Zelt' as 'tent'" in a for a in res.assumptions)


@pytest.mark.parametrize(
    "brief",
    [
        "Cross-Selling per E-Mail an alle, die in den letzten 30 Tagen gekauft haben.",
        "Cross-Selling per E-Mail an alle Erstkäufer.",
        "Warenkorb-Erinnerung per SMS an alle, die nicht gekauft haben.",
    ],
)
def test_words_before_gekauft_that_are_no_product_are_not_read_as_one(brief: str) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert not any("catalog product" in a or "ever ordered" in a for a in res.assumptions)


# --- 6. channel words as whole words ---------------------------------------------------------


@pytest.mark.parametrize(
    ("brief", "channels"),
    [
        ("Promotion for the Emaile Mug, 10% off, by SMS.", [Channel.SMS]),
        ("Promotion for pushchair owners, 10% off, SMS.", [Channel.SMS]),
        ("Promotion: 10% off in Smsa, push.", [Channel.PUSH]),
        # the message people never opened is the audience, not a channel to send on
        ("Re-engage people who never opened any of our emails: one SMS, 10% off.", [Channel.SMS]),
        # plurals, capitals and hyphenated German compounds still name the channel
        ("Winback with 10% off, Emails then texts.", [Channel.EMAIL, Channel.SMS]),
        ("Aktion 10 %: SMS-Erinnerung, dann Willkommens-E-Mail.", [Channel.SMS, Channel.EMAIL]),
        ("Winback, 10 Prozent, per Mail und Push-Nachricht.", [Channel.EMAIL, Channel.PUSH]),
    ],
)
def test_channel_words_are_matched_as_whole_words(brief: str, channels: list[Channel]) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert res.objective is not None, res.questions
    assert res.objective.channels == channels


def test_a_product_named_like_a_channel_falls_back_to_email_and_says_so() -> None:
    res = _offline_parse("Promotion for the Emaile Mug, 10% off.", CATS, NOW, CATALOG)
    assert "No channel named: using e-mail." in res.assumptions


# --- 7. "next Friday" --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brief", "start", "said"),
    [
        # on Wednesday 4 November, "next Friday" is next week's (13th), and the plan says so
        (
            "Launch the Ridge Tent to outdoor fans by push next Friday.",
            date(2026, 11, 13),
            "Read “next Friday” as Friday 13 November 2026 (next week's), not this week's "
            "6 November.",
        ),
        (
            "Den neuen Ridge Tent nächsten Freitag per Push an Outdoor-Fans vorstellen.",
            date(2026, 11, 13),
            "Read “next Friday” as Friday 13 November 2026 (next week's), not this week's "
            "6 November.",
        ),
        # not ambiguous (this week's Monday is past, today is Wednesday): no such assumption
        ("Launch the Ridge Tent to outdoor fans by push next Monday.", date(2026, 11, 9), None),
        ("Launch the Ridge Tent to outdoor fans by push next Wednesday.", date(2026, 11, 11), None),
        ("Launch the Ridge Tent to outdoor fans by push this Friday.", date(2026, 11, 6), None),
    ],
)
def test_next_weekday_is_next_weeks_and_said_when_ambiguous(
    brief: str, start: date, said: str | None
) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert res.objective is not None and res.objective.start is not None, res.questions
    assert res.objective.start.date() == start
    if said is None:
        assert not any(a.startswith("Read “next") for a in res.assumptions)
    else:
        assert said in res.assumptions


# --- 8. German category words, "text" as SMS, recent buyers in a promotion ------------------


@pytest.mark.parametrize(
    ("german", "english"),
    [
        (
            "Aktion 25 Prozent auf Bekleidung mit Code KLEIDUNG25 per Mail.",
            "Promotion 25 percent off apparel with code KLEIDUNG25 by mail.",
        ),
        (
            "Gratis-Versand für die Schuhfans in der Schweiz, E-Mail.",
            "Free shipping for the footwear fans in Switzerland, email.",
        ),
        (
            "Aktion: 20 % auf alle Schuhe, per E-Mail.",
            "Promotion: 20% off all footwear, by email.",
        ),
        (
            "Kunden mit Lieblingskategorie Haushalt: 30 % Rabatt, per E-Mail.",
            "Customers whose favourite category is home: 30% off, email.",
        ),
    ],
)
def test_german_category_words_read_as_the_category(german: str, english: str) -> None:
    de = _offline_parse(german, CATS, NOW, CATALOG)
    en = _offline_parse(english, CATS, NOW, CATALOG)
    assert de.objective is not None and en.objective is not None, (de.questions, en.questions)
    assert any(h.startswith("category:") for h in en.objective.audience_hints)
    assert de.objective.audience_hints == en.objective.audience_hints


def test_a_german_product_word_that_is_no_category_names_none() -> None:
    res = _offline_parse("Aktion: 20 % auf Kissen und Decken, E-Mail.", CATS, NOW, CATALOG)
    assert res.objective is not None, res.questions
    assert not any(h.startswith("category:") for h in res.objective.audience_hints)


@pytest.mark.parametrize(
    ("brief", "channels"),
    [
        (
            "Anyone sitting on a cart for more than a day gets a text. If they still don't "
            "check out after another 2 days, email them free shipping.",
            [Channel.SMS, Channel.EMAIL],
        ),
        ("Win back lapsed customers by text, 10% off.", [Channel.SMS]),
        ("Win back lapsed customers: send them a text reminder, 10% off.", [Channel.SMS]),
        ("Win back lapsed customers by text message, 10% off.", [Channel.SMS]),
        # "text" as ordinary English names no channel
        ("Win back lapsed customers, 10% off; keep the text of the email short.", [Channel.EMAIL]),
        ("Win back lapsed customers, 10% off: send a text-only email.", [Channel.EMAIL]),
    ],
)
def test_text_names_sms_only_where_it_is_the_channel(brief: str, channels: list[Channel]) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert res.objective is not None, res.questions
    assert res.objective.channels == channels


@pytest.mark.parametrize(
    ("brief", "op", "days"),
    [
        ("Promotion: 15% off for customers who bought in the last 30 days, email.", "lte", 30),
        (
            "Aktion: 15 % Rabatt für alle, die in den letzten 30 Tagen gekauft haben, E-Mail.",
            "lte",
            30,
        ),
        (
            "Promotion: 15% off for everyone who hasn't ordered in the past 2 months, email.",
            "gte",
            60,
        ),
    ],
)
def test_a_purchase_window_narrows_a_promotion(
    llm: LLMClient, brief: str, op: str, days: int
) -> None:
    res = _offline_parse(brief, CATS, NOW, CATALOG)
    assert res.objective is not None and res.objective.goal == Goal.PROMOTION, res.questions
    plan = draft_plan(llm, res.objective, categories=CATS)
    filters = [(f.feature, f.op, f.value) for a in plan.audiences for f in a.filters]
    assert ("recency_days", op, days) in filters


def test_a_time_window_without_a_purchase_does_not_narrow_a_promotion() -> None:
    res = _offline_parse(
        "Flash sale: 40% off outdoor gear for 3 days starting Saturday, SMS.", CATS, NOW, CATALOG
    )
    assert res.objective is not None, res.questions
    assert not any(h.startswith("recency_days") for h in res.objective.audience_hints)
