"""Copy in the customer's language: the kit's translations, the footer and the checks per
language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.content import message_language, offer_text, person_context, render_message
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.copybank import compile_template
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit, BrandKitError, load_brand_kit
from brand_guardrails.locale import kit_for
from core.models import (
    Channel,
    Customer,
    Goal,
    Objective,
    Offer,
    Product,
    Severity,
    VariantTemplate,
    VariantText,
)
from core.settings import Settings
from tools.sms_encoding import segments

OFFERS = [
    Offer(kind="percent_off", percent=10, code="TRAIL10", expires="Sunday"),
    Offer(kind="free_shipping"),
    Offer(kind="amount_off", amount=10, currency="USD", min_order=50, code="TEN"),
    None,
]
URL = "https://northwind.example/u/t1"
NINE_AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def kit(settings: Settings) -> BrandKit:
    return load_brand_kit(settings.brand_path)


def test_the_sample_kit_speaks_the_sample_customers_languages(kit: BrandKit) -> None:
    assert set(kit.locales) == {"de", "fr", "ja", "pt"}
    assert kit.language_of("de-DE") == "de"
    assert kit.language_of("pt_BR") == "pt"
    assert kit.language_of("fr-CA") == "fr"
    assert kit.language_of("es-ES") == "en"  # no Spanish text: the default
    assert kit.language_of(None) == "en"
    assert kit_for(kit, "en-GB") is kit
    assert kit_for(kit, "de-AT") is kit_for(kit, "de-DE")  # built once


def test_every_copy_bank_entry_speaks_every_kit_language(kit: BrandKit) -> None:
    for t in kit.copy_bank:
        assert set(t.translations) == set(kit.locales), (t.goal, t.channel, t.stage, t.angle)
    # every goal has first-message copy on every channel the planner can choose
    have = {(t.goal, t.channel) for t in kit.copy_bank if t.stage == "first"}
    assert have == {(g, c) for g in Goal for c in (Channel.EMAIL, Channel.SMS, Channel.PUSH)}


@pytest.mark.parametrize("offer", OFFERS)
def test_every_translation_passes_every_check_in_its_language(
    kit: BrandKit, offer: Offer | None
) -> None:
    checked = 0
    for t in kit.copy_bank:
        for lang, tr in t.translations.items():
            words = kit.locales[lang]
            variables = {
                "first_name": "Zoë",
                "brand_name": kit.name,
                "product_name": "Switchback Trail Runner",
                "product_url": "https://northwind.example/p/switchback",
                "category": words.categories["footwear"],
                "offer_text": offer_text(offer, kit.currency, words) if offer else "",
                "code": (offer.code or "") if offer else "",
                "expires": (offer.expires or "") if offer else "",
                "shop_url": kit.site_url,
            }
            subject = compile_template(tr.subject).render(**variables) if tr.subject else None
            body = compile_template(tr.body).render(**variables).strip()
            final = apply_footer(kit_for(kit, lang), t.channel, body, URL, offer=offer)
            msg = CopyToCheck(
                channel=t.channel, subject=subject, body=final, offer=offer, locale=lang
            )
            assert check_message(kit, msg) == [], (lang, t.goal, t.channel, t.stage, final)
            checked += 1
    assert checked == len(kit.locales) * len(kit.copy_bank)


def _german_message(kit: BrandKit, footer_kit: BrandKit, offer: Offer) -> str:
    body = "Hallo Alex,\n\nkomm zurück und sichere dir 10 % Rabatt mit dem Code TRAIL10."
    return apply_footer(footer_kit, Channel.EMAIL, body, URL, offer=offer)


def test_checks_apply_in_the_language_of_the_message(kit: BrandKit) -> None:
    offer = OFFERS[0]
    german = _german_message(kit, kit_for(kit, "de"), offer)
    assert "Abmelden: " + URL in german
    assert "Dies ist eine Werbe-E-Mail von Northwind Outfitters." in german
    ok = CopyToCheck(channel=Channel.EMAIL, subject="Hallo", body=german, offer=offer, locale="de")
    assert [f for f in check_message(kit, ok) if f.severity == Severity.BLOCK] == []
    # German copy with the English footer lacks the German offer terms: blocked
    english_footer = _german_message(kit, kit, offer)
    mixed = ok.model_copy(update={"body": english_footer})
    assert "offer.missing_disclaimer" in {f.rule_id for f in check_message(kit, mixed)}
    # and an English reader's message with the German footer is missing the English terms
    as_english = ok.model_copy(update={"locale": "en-US"})
    assert "offer.missing_disclaimer" in {f.rule_id for f in check_message(kit, as_english)}


def test_a_german_sms_needs_the_german_opt_out(kit: BrandKit) -> None:
    de = kit_for(kit, "de")
    body = apply_footer(de, Channel.SMS, "Wir vermissen dich.", URL)
    assert body.endswith("Antworte STOP zum Abbestellen")
    msg = CopyToCheck(channel=Channel.SMS, body=body, locale="de")
    assert check_message(kit, msg) == []
    stripped = msg.model_copy(update={"body": body.replace("Antworte STOP zum Abbestellen", "")})
    assert "sms.opt_out_missing" in {f.rule_id for f in check_message(kit, stripped)}


def test_a_person_gets_the_translation_and_falls_back_to_the_default(kit: BrandKit) -> None:
    variant = VariantTemplate(
        id="c:s1:A",
        step_id="s1",
        arm="A",
        channel=Channel.EMAIL,
        subject="Hello {{ first_name }}",
        body="{{ greeting }}, {{ offer_text }} on {{ category }}.",
        translations={
            "de": VariantText(
                subject="Hallo {{ first_name }}",
                body="{{ greeting }}, {{ offer_text }} auf {{ category }}.",
            )
        },
    )
    objective = Objective(name="x", goal=Goal.WINBACK, offer=OFFERS[0])
    product = Product(
        id="p", name="Boot", category="footwear", price=1, url="https://northwind.example/p"
    )
    for locale, subject, words, footer in [
        ("de-DE", "Hallo Alex", "Guten Morgen, 10 % Rabatt auf Schuhe.", "Abmelden: "),
        ("fr-FR", "Hello Alex", "Good morning, 10% off on footwear.", "Unsubscribe: "),
        ("en-US", "Hello Alex", "Good morning, 10% off on footwear.", "Unsubscribe: "),
    ]:
        lang = message_language(kit, variant, locale)
        customer = Customer(id="c1", first_name="Alex", locale=locale)
        ctx = person_context(
            kit, objective, customer, product, features=None, local_send=NINE_AM, language=lang
        )
        msg = render_message(
            kit, variant, ctx, unsubscribe_url=URL, offer=objective.offer, language=lang
        )
        assert msg.subject == subject
        assert msg.body.startswith(words), msg.body
        assert footer + URL in msg.body
        assert msg.language == ("de" if locale == "de-DE" else "en")


def test_a_locale_without_every_disclaimer_is_refused(settings: Settings, tmp_path: Path) -> None:
    text = Path(settings.brand_path).read_text(encoding="utf-8")
    broken = text.replace("          short: Solange der Vorrat reicht.\n", "", 1).replace(
        "        gift:\n          text: Gratisgeschenk, solange der Vorrat reicht; eines pro "
        "Bestellung, keine Barauszahlung.\n",
        "",
        1,
    )
    assert broken != text
    p = tmp_path / "brand.yaml"
    p.write_text(broken, encoding="utf-8")
    with pytest.raises(BrandKitError, match=r"locales\.de\.disclaimers: missing by_offer\.gift"):
        load_brand_kit(p)


def test_an_amount_off_reads_in_each_language_with_its_currency(kit: BrandKit) -> None:
    usd = Offer(kind="amount_off", amount=10, currency="USD", min_order=50)
    assert offer_text(usd, kit.currency) == "$10 off orders over $50"
    eur = Offer(kind="amount_off", amount=10, currency="EUR", min_order=50)
    assert offer_text(eur, kit.currency, kit.locales["de"]) == "10 € Rabatt ab 50 € Einkauf"
    brand_currency = Offer(kind="amount_off", amount=12.5)
    assert offer_text(brand_currency, "GBP") == "£12.50 off"


@pytest.mark.parametrize("offer", [o for o in OFFERS if o is not None])
def test_a_japanese_sms_fits_two_ucs2_segments_with_an_offer(kit: BrandKit, offer: Offer) -> None:
    """Kana force UCS-2 (67 characters a part): the Japanese SMS copy is written to fit."""
    ja = kit_for(kit, "ja-JP")
    words = kit.locales["ja"]
    for t in (t for t in kit.copy_bank if t.channel == Channel.SMS):
        body = compile_template(t.translations["ja"].body).render(
            first_name="Zoë",
            brand_name=kit.name,
            product_name="Switchback Trail Runner",
            product_url="https://northwind.example/p/switchback",
            category=words.categories["footwear"],
            offer_text=offer_text(offer, kit.currency, words),
            code="TRAIL10",
            expires="Sunday",
            shop_url=kit.site_url,
        )
        final = apply_footer(ja, Channel.SMS, body, URL, offer=offer)
        n, encoding, _ = segments(final)
        assert encoding == "UCS-2" and n <= kit.channel_rules.sms.max_segments, final
        assert final.endswith(words.sms_opt_out or "")


@pytest.mark.parametrize(
    ("locale", "text", "phrase"),
    [
        ("de-DE", "Jetzt zuschlagen: das Schnäppchen des Jahres.", "Jetzt zuschlagen"),
        ("fr-FR", "Cliquez ici pour voir la nouveauté.", "Cliquez ici"),
        ("pt-BR", "Clique aqui para ver a novidade.", "Clique aqui"),
        ("ja-JP", "本日限りの激安セールです。", "激安"),
        ("ja-JP", "今すぐ クリック してください。", "今すぐ クリック"),
    ],
)
def test_each_language_has_its_own_banned_phrases(
    kit: BrandKit, locale: str, text: str, phrase: str
) -> None:
    msg = CopyToCheck(channel=Channel.PUSH, subject="Northwind", body=text, locale=locale)
    found = [f for f in check_message(kit, msg) if f.rule_id == "banned.phrase"]
    assert found and found[0].span == phrase and found[0].severity == Severity.BLOCK
    # the language's list applies to messages in that language only
    english = msg.model_copy(update={"locale": "en-US"})
    assert "banned.phrase" not in {f.rule_id for f in check_message(kit, english)}
    # and English pressure words stay banned in every language
    mixed = msg.model_copy(update={"body": text + " Act now."})
    spans = {f.span for f in check_message(kit, mixed) if f.rule_id == "banned.phrase"}
    assert "Act now" in spans


def test_a_language_can_bring_its_own_spam_list(settings: Settings, tmp_path: Path) -> None:
    text = Path(settings.brand_path).read_text(encoding="utf-8")
    (tmp_path / "spam_en.tsv").write_text("act fast\t6\nfree\t3\n", encoding="utf-8")
    (tmp_path / "spam_ja.tsv").write_text("今だけ\t6\n無料\t4\n", encoding="utf-8")
    text = text.replace("  words_path: null", "  words_path: spam_en.tsv", 1)
    anchor = "    fallback_product: 最新のアイテム\n"
    assert anchor in text
    text = text.replace(anchor, anchor + "    spam_words_path: spam_ja.tsv\n", 1)
    (tmp_path / "brand.yaml").write_text(text, encoding="utf-8")
    kit = load_brand_kit(tmp_path / "brand.yaml")
    assert kit.locales["ja"].spam_words_path == (tmp_path / "spam_ja.tsv").resolve()
    body = "今だけ送料無料でお届けします。"
    ja = CopyToCheck(channel=Channel.PUSH, subject="x", body=body, locale="ja")
    found = [f for f in check_message(kit, ja) if f.rule_id == "spam.score"]
    assert found and found[0].span == "今だけ, 無料"  # found inside a sentence without spaces
    # German has no list of its own: it is scored on the kit's
    de = CopyToCheck(channel=Channel.PUSH, subject="x", body="Act fast, free!", locale="de")
    assert "spam.score" in {f.rule_id for f in check_message(kit, de)}
    assert "spam.score" not in {
        f.rule_id for f in check_message(kit, ja.model_copy(update={"locale": "en"}))
    }


_HARD_GERMAN = (
    "Hallo Alex,\n\nunsere außergewöhnlich widerstandsfähigen Funktionsjacken kombinieren "
    "atmungsaktive Membrantechnologie mit nachhaltig produzierten Recyclingmaterialien, "
    "wodurch selbst anspruchsvollste Hochgebirgsexpeditionen unter wechselhaftesten "
    "Witterungsbedingungen komfortabel bewältigt werden können, ohne dass Bewegungsfreiheit "
    "oder Wärmeisolierung eingeschränkt würden.\n\nDein Northwind Outfitters Team"
)


def test_reading_level_uses_the_formula_of_the_language(kit: BrandKit) -> None:
    de = CopyToCheck(channel=Channel.EMAIL, subject="Neu", body=_HARD_GERMAN, locale="de-DE")
    found = [f for f in check_message(kit, de) if f.rule_id == "voice.reading_level"]
    assert found and "Wiener Sachtextformel" in found[0].explanation
    assert found[0].severity == Severity.WARN
    # the Flesch-Kincaid syllable rules do not apply to French or Japanese: not graded
    for locale in ("fr-FR", "ja-JP"):
        other = de.model_copy(update={"locale": locale})
        assert "voice.reading_level" not in {f.rule_id for f in check_message(kit, other)}
    hard_english = (
        "Our extraordinarily resilient technical jackets combine breathable membrane "
        "technology with sustainably manufactured recycled materials, so that even the most "
        "demanding high-altitude expeditions in unpredictable atmospheric conditions remain "
        "comfortable without restricting mobility or insulation."
    )
    en = de.model_copy(update={"body": hard_english, "locale": "en-US"})
    found = [f for f in check_message(kit, en) if f.rule_id == "voice.reading_level"]
    assert found and "Flesch-Kincaid" in found[0].explanation


def test_a_code_in_japanese_copy_is_not_shouting(kit: BrandKit) -> None:
    body = "Switchback Trail Runnerはカートに保存されています。10%オフ（コード：TRAIL10）。"
    msg = CopyToCheck(channel=Channel.PUSH, subject="カート", body=body, locale="ja")
    assert "voice.shouting" not in {f.rule_id for f in check_message(kit, msg)}
