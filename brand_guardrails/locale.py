"""The brand kit in a person's language: the system's own text (footer, disclaimers, ad
disclosure, SMS opt-out) swapped for the kit's translation, and the language's banned phrases and
spam list added, so the footer is written and every check is applied in the language the person
reads.
"""

from __future__ import annotations

from brand_guardrails.checks._cache import per_kit
from brand_guardrails.kit import BrandKit


@per_kit
def _by_language(kit: BrandKit) -> dict[str, BrandKit]:
    """The kit's localized copies, built on first use (one dict per kit)."""
    return {}


def kit_for(kit: BrandKit, locale: str | None) -> BrandKit:
    """The kit as seen by a person with `locale` (`de-DE`, `pt-BR`, …): the same kit for its
    default language or a language it has no text for, else a copy whose footer, disclaimers,
    ad disclosure and SMS opt-out are in that language (`default_locale` set to it), whose
    banned phrases are the kit's plus the language's, and whose spam list is the language's
    (the kit's when the language has none)."""
    lang = kit.language_of(locale)
    if lang == kit.default_locale:
        return kit
    cache = _by_language(kit)
    if lang not in cache:
        text = kit.locales[lang]
        rules = kit.channel_rules
        email = rules.email.model_copy(
            update={"ad_disclosure": text.ad_disclosure or rules.email.ad_disclosure}
        )
        sms = rules.sms.model_copy(
            update={"opt_out_text": text.sms_opt_out or rules.sms.opt_out_text}
        )
        spam = kit.spam.model_copy(
            update={"words_path": text.spam_words_path or kit.spam.words_path}
        )
        cache[lang] = kit.model_copy(
            update={
                "default_locale": lang,
                "footer": text.footer,
                "disclaimers": text.disclaimers,
                "channel_rules": rules.model_copy(update={"email": email, "sms": sms}),
                "banned_phrases": [*kit.banned_phrases, *text.banned_phrases],
                "spam": spam,
            }
        )
    return cache[lang]
