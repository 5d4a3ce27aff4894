"""The planner agent: brief → objective (or clarifying questions) → audiences, holdout, journey.

Two engines satisfy one contract. With an LLM configured, the brief is parsed and the plan drafted
through structured outputs; otherwise the offline engine applies deterministic recipes per goal.
Either way the result is validated here, so a plan that reaches the graph is always usable.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from agents.prompts import render_prompt
from brand_guardrails.checks.injection import score as injection_score
from brand_guardrails.money import MONEY, amounts_off, money_at, money_text
from core.models import (
    Audience,
    AudienceFilter,
    BriefParse,
    Channel,
    EntryTrigger,
    Goal,
    JourneyStep,
    Objective,
    Offer,
    Plan,
    Product,
    Recurrence,
)
from tools.llm import LLMClient, delimit

T = TypeVar("T", bound=BaseModel)

DEFAULT_HOLDOUT = 0.10
"""Share of each audience held out at random (no message) unless the brief says otherwise."""

_GOAL_WORDS: list[tuple[Goal, tuple[str, ...]]] = [
    (Goal.CART_RECOVERY, ("abandon", "cart", "basket", "checkout", "warenkorb", "warenkörb")),
    (
        Goal.WINBACK,
        (
            "win back",
            "winback",
            "win-back",
            "lapsed",
            "haven't ordered",
            "inactive",
            "haven't bought",
            "not ordered",
            "come back",
            "re-engage",
            "reengage",
            "reaktiv",
            "reactivat",
            "zurückgewinn",
            "zurückhol",
            "zurückbring",
            "inaktiv",
            "miss you",
            "vermissen",
            "never opened",
            "nie eine e-mail geöffnet",
        ),
    ),
    (
        Goal.CROSS_SELL,
        (
            "cross-sell",
            "cross sell",
            "upsell",
            "complementary",
            "also buy",
            "recommend",
            "goes with",
            "go with",
            "empfehl",
            "passend",
        ),
    ),
    (
        Goal.PRODUCT_LAUNCH,
        (
            "launch",
            "new arrival",
            "new collection",
            "just dropped",
            "introduce",
            "announce",
            "einführ",
            "ankündig",
            "vorstellen",
        ),
    ),
    (
        Goal.RETENTION,
        (
            "retain",
            "retention",
            "loyal",
            "at risk",
            "at-risk",
            "churn",
            "new customers",
            "welcome",
            "thank",
            "regulars",
            "vip",
            "danken",
            "neukunden",
            "stammkunden",
            "treue",
            "willkommen",
            "begrüß",
            "gefährdet",
        ),
    ),
    (
        Goal.PROMOTION,
        (
            "sale",
            "promo",
            "promotion",
            "discount",
            "% off",
            "black friday",
            "cyber monday",
            "holiday",
            "weekend offer",
            "aktion",
            "rabatt",
            "angebot",
            "verkauf",
            "free shipping",
            "bogo",
            "versand",
        ),
    ),
]
_CHANNEL_WORDS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: ("email", "e-mail", "newsletter", "inbox", "mail"),
    Channel.SMS: ("sms", "text message", "texts", "text them"),
    Channel.PUSH: ("push", "app notification"),
}
_TEXT_AS_SMS = (
    r"(?:by|via|over)\s+text(?![- ](?:only|version))",
    r"(?:send|sends|sent|get|gets|got|receive|receives)\s+(?:them\s+|him\s+|her\s+)?"
    r"a\s+text(?![- ](?:only|version))",
    r"text\s+(?:reminder|alert|nudge)",
)
""""Text" where it names the channel ("by text", "gets a text", "a text reminder"); elsewhere
it is ordinary English ("the text of the e-mail", "send a text-only version")."""
_CHANNEL_PATTERNS = {
    channel: re.compile(
        r"(?<![a-zäöüß0-9])(?:"
        + "|".join([*map(re.escape, words), *(_TEXT_AS_SMS if channel == Channel.SMS else ())])
        + r")(?:s|en)?(?![a-zäöüß0-9])"
    )
    for channel, words in _CHANNEL_WORDS.items()
}
"""Channel words as whole words (plurals and hyphenated compounds too: "emails",
"SMS-Erinnerung", "Willkommens-E-Mail"), so a product like "Emaile Mug" or a word like
"pushchair" names no channel."""
_OPENED_MESSAGE_RE = re.compile(
    r"\bopened\s+(?:[a-z']+\s+){0,4}?(?:e-?mails?|newsletters?)\b"
    r"|\b(?:e-?mails?|newsletter)\s+(?:[a-zäöüß]+\s+){0,3}?geöffnet\b"
)
"""The message a person opened or not ("never opened any of our emails", "keine E-Mail
geöffnet"): the audience, not a channel to send on."""
_HOLDOUT_RE = re.compile(
    r"(?:holdout|hold-out|control group)\D{0,12}?(\d{1,2}(?:\.\d+)?)\s*%"
    r"|(\d{1,2}(?:\.\d+)?)\s*%\s*(?:holdout|hold-out|control)",
    re.I,
)
_PERCENT_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:[.,]\d+)?)\s*(?:%|prozent\b|percent\b|pct\b)\s*(?:off|discount)?", re.I
)
_CODE_RE = re.compile(r"\bcode\s*(?::|is)?\s*([A-Za-z0-9]{3,20})\b", re.I)
_BOGO_RE = re.compile(
    r"\b(?:second|2nd|next)\s+(?:one|item|pair|product)?\s*(?:at\s+|for\s+)?"
    r"(\d{1,3})\s*%\s*off|\bbuy\s+one,?\s+get\s+one(?:\s+free)?\b|\bbogo\b"
    r"|\bzweite\w*\s+(?:gratis|umsonst|kostenlos)\b|\b2\s+für\s+1\b",
    re.I,
)
_RECENCY_RE = re.compile(
    r"\b(?:in|for|over|past|last|seit|letzten)\s+(?:the\s+|den\s+)?"
    r"(?:last\s+|past\s+|letzten\s+|über\s+|mehr als\s+)?"
    r"(\d{1,3}|a|an|one|einem|einer)\s*(day|week|month|year|tag|woche|monat|jahr)",
    re.I,
)
_RECENCY_GOALS = (Goal.WINBACK, Goal.RETENTION, Goal.CROSS_SELL)
"""Goals that read a time window as when people last ordered; a promotion only when the
window's clause names a purchase ("who bought in the last 30 days")."""
_PURCHASE_CLAUSE_RE = re.compile(
    r"(?:\b(not|never|\w+n't|nicht|nie)\b[^.;:]*?)?"
    r"\b(?:bought|ordered|purchased|shopped|gekauft|bestellt|eingekauft)\b"
)
"""A purchase verb in a clause, and a negation before it (group 1)."""
_RECENCY_DAYS = {"day": 1, "tag": 1, "week": 7, "woche": 7, "month": 30, "monat": 30}
_MORE = (
    r"(?:over|more than|above|north of|>|at least|under|less than|below|<|"
    r"mehr als|über|unter|weniger als)"
)
_MONETARY_RES = (
    re.compile(
        rf"\b(?:spent|spend|spending|lifetime|umsatz)\b(?:\s+\w+){{0,3}}?\s*({_MORE})\s*"
        r"[$€£]?\s*(\d[\d,]*)"
    ),
    re.compile(
        rf"({_MORE})\s*[$€£]?\s*(\d[\d,]*)\s*(?:€|eur\w*|\$|dollars?|bucks)?\s*"
        r"(?:\w+\s+){0,2}?(?:umsatz|ausgegeben|spent|in total)"
    ),
)
_NEVER_OPENED_RE = re.compile(
    r"\bnever\s+(?:once\s+)?opened\b|\bhaven'?t opened a single\b|\bnoch nie\b[^.]{0,40}?geöffnet"
    r"|\bnie\b[^.]{0,40}?geöffnet"
)
_NOT_OPENED_RE = re.compile(
    r"\b(?:not|n't|hasn't|haven't)\s+opened\b[^.]{0,40}?\b(\d{1,3})\s*(day|week|month)"
    r"|\bseit\s+(\d{1,3})\s*(tag|woche|monat)\w*\s+kein\w*\b[^.]{0,30}?geöffnet"
)
_ORDERS = r"(?:orders|purchases|bestellungen|käufe(?:n)?)\b"
_FREQUENCY_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("gt", re.compile(rf"\b(?:more than|over|>|mehr als)\s*(\d{{1,3}})\s*{_ORDERS}")),
    ("gte", re.compile(rf"\b(?:at least|mindestens)\s*(\d{{1,3}})\s*{_ORDERS}")),
    ("gte", re.compile(rf"\b(\d{{1,3}})\s*\+\s*{_ORDERS}")),
    ("eq", re.compile(r"\bfirst[- ]time (?:buyers|customers)\b|\berstkäufer\w*()")),
)
"""Order counts named in the brief ("more than 5 orders", "3+ orders", "first-time buyers")."""
_STAGE_WORDS: tuple[tuple[str, str], ...] = (
    ("at_risk", r"\bat[- ]risk\b|\bgefährdet"),
    ("lapsed", r"\blapsed\b"),
    ("new", r"\bnew customers\b|\bneukunden\b"),
    ("active", r"\bactive customers\b|\baktive\w* kunden\b"),
)
_COUNTRIES: tuple[tuple[str, str], ...] = (
    ("DE", r"\b(?:in )?(?:germany|deutschland)\b"),
    ("AT", r"\b(?:austria|österreich)\b"),
    ("CH", r"\b(?:switzerland|schweiz)\b"),
    ("GB", r"\b(?:uk|united kingdom|britain)\b"),
    ("US", r"\b(?:us|usa|united states)\b customers|\bin the us\b"),
    ("CA", r"\b(?:canada|kanada)\b"),
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RECURRENCE_RE = re.compile(
    r"\bevery\s+(day|" + "|".join(_WEEKDAYS) + r")s?\b"
    r"(?:\s+(?:at\s+)?(\d{1,2})(?::00)?\s*(am|pm)?\b)?",
    re.I,
)


_TRIGGER_RE = re.compile(
    r"\b(whenever|every time|as soon as|always[- ]on|who (?:leave|abandon|left)|"
    r"when (?:someone|people|a customer|customers|they) (?:leave|abandon|add))",
    re.I,
)
_WITHIN_HOURS_RE = re.compile(r"\b(?:within|after)\s+(\d{1,3})\s*(hour|day)s?", re.I)


def _trigger(text: str, goal: Goal | None) -> EntryTrigger | None:
    """An always-on cart-abandonment trigger for briefs like "remind people who leave something
    in their cart" (the offline engine has an event recipe for that goal only)."""
    if goal != Goal.CART_RECOVERY or not _TRIGGER_RE.search(text):
        return None
    wait = 4.0
    m = _WITHIN_HOURS_RE.search(text)
    if m:
        wait = float(m.group(1)) * (24 if m.group(2).lower() == "day" else 1)
    return EntryTrigger(
        event="Product Added", unless_event="Order Completed", wait_hours=min(wait, 720)
    )


def _recurrence(text: str) -> Recurrence | None:
    """`every Monday 9:00`, `every Friday at 5pm`, `every day`: a recurrence, or None."""
    m = _RECURRENCE_RE.search(text)
    if m is None:
        return None
    day, hour, half = m.group(1).lower(), m.group(2), (m.group(3) or "").lower()
    h = int(hour) if hour else 9
    if half == "pm" and h < 12:
        h += 12
    elif half == "am" and h == 12:
        h = 0
    if h > 23:
        return None
    if day == "day":
        return Recurrence(every="day", hour_local=h)
    return Recurrence(every="week", weekday=_WEEKDAYS.index(day), hour_local=h)


class PlanDraft(BaseModel):
    """What the LLM drafts for a plan; holdout and validation are the system's."""

    audiences: list[Audience] = Field(min_length=1)
    """Who to target."""
    journey: list[JourneyStep] = Field(min_length=1, max_length=4)
    """Steps in send order."""
    send_hour_local: int = Field(default=10, ge=0, le=23)
    """Preferred send hour in each person's own timezone."""
    rationale: str
    """Why this plan."""


class PlanError(ValueError):
    """The plan cannot be built from this objective; the message says what to change."""


# --- brief → objective --------------------------------------------------------------------


class FollowUp(BaseModel):
    """What the marketer said after the brief, in the same draft."""

    kind: Literal["answer", "change"]
    """An answer to the planner's questions, or a change request on the plan."""
    text: str
    """The message, as written."""


def parse_brief(
    llm: LLMClient,
    brief: str,
    *,
    categories: Sequence[str],
    campaign_id: str | None = None,
    now: datetime | None = None,
    products: Sequence[Product] = (),
    follow_ups: Sequence[FollowUp] = (),
) -> BriefParse:
    """Read a marketer's brief: an objective, or the clarifying questions that block one.

    `now` is when the brief was given: relative dates ("next Monday") are read from it.
    `products` is the catalog that products named in the brief are matched against.
    `follow_ups` are the answers and change requests said since, in order (later ones win);
    like the brief they reach a model only as delimited data.
    """
    text = brief.strip()
    answers = [f.text.strip() for f in follow_ups if f.kind == "answer"]
    said = "\n".join([text, *(f.text.strip() for f in follow_ups)])
    if len(" ".join([text, *answers]).split()) < 3:
        return BriefParse(
            questions=[
                "Tell me a little more: what should this campaign achieve (e.g. win back lapsed "
                "customers, recover abandoned carts, launch a product), for whom, and on which "
                "channels?"
            ]
        )
    # A brief is instructions by nature ("Announce our sale by email"), so the classifier's
    # reading alone would refuse plain briefs: like copy, a brief is held on a named move.
    injection = injection_score(said)
    if injection.hit and injection.named:
        return BriefParse(
            questions=[
                "Parts of this brief read like instructions to the AI rather than a campaign "
                f"brief ({'; '.join(injection.reasons[:2])}). Please restate the goal, the "
                "audience and the channels in your own words."
            ]
        )
    system = render_prompt(
        "parse_brief.j2", categories=list(categories), goals=[g.value for g in Goal]
    )
    parsed, fallback = llm.generate_or_offline(
        "parse_brief",
        system=system,
        user=delimit("brief", text)
        + (
            "\n\n" + delimit("follow_ups", [f.model_dump() for f in follow_ups])
            if follow_ups
            else ""
        ),
        schema=BriefParse,
        offline=lambda: _offline_read(text, follow_ups, categories, now, products),
        campaign_id=campaign_id,
    )
    parsed = _launch_check(_normalize_parse(parsed), said, products, now)
    # consent is checked here, whatever the engine: the refusal never depends on the model
    notes = [*_consent_conflicts(said.lower()), *([fallback] if fallback else [])]
    if notes:
        parsed = parsed.model_copy(update={"assumptions": [*parsed.assumptions, *notes]})
    return parsed


def _normalize_parse(parsed: BriefParse) -> BriefParse:
    if parsed.objective is None and not parsed.questions:
        return BriefParse(questions=["What is the goal of this campaign?"])
    return parsed


def _offline_read(
    text: str,
    follow_ups: Sequence[FollowUp],
    categories: Sequence[str],
    now: datetime | None,
    products: Sequence[Product],
) -> BriefParse:
    """The offline engine over a draft: the brief with its answers, then each change request
    applied in order. A change it cannot read changes nothing, and the assumptions say so."""
    answers = [f.text.strip() for f in follow_ups if f.kind == "answer"]
    parsed = _offline_parse("\n".join([text, *answers]), categories, now, products)
    if parsed.objective is not None:  # "… in German" in the brief itself
        lang: dict[str, object] = {}
        said = _apply_language(parsed.objective, "\n".join([text, *answers]), lang, "Language")
        if lang:
            parsed = parsed.model_copy(
                update={
                    "objective": parsed.objective.model_copy(update=lang),
                    "assumptions": [*parsed.assumptions, *said],
                }
            )
    changes = [f.text.strip() for f in follow_ups if f.kind == "change"]
    if parsed.objective is None or not changes:
        return parsed
    objective, notes = parsed.objective, list(parsed.assumptions)
    for change in changes:
        objective, done = apply_change(objective, change)
        notes.extend(
            done
            or [
                f"Not applied: “{change[:120]}” — the offline engine did not understand it, so "
                "nothing changed. It understands e.g. “SMS only”, “add an SMS reminder”, “drop "
                "the discount”, “make it 20% off”, “exclude people who bought in the last week”, "
                "“make it German”, “in the customer's own language”."
            ]
        )
    return parsed.model_copy(update={"objective": objective, "assumptions": notes})


_CHANNEL_RE = r"(sms|texts?|text messages?|e-?mails?|push(?: notifications?)?)"
_ONLY_CHANNEL_RE = re.compile(
    rf"\b(?:only|just)\s+(?:by\s+|via\s+|through\s+|over\s+)?{_CHANNEL_RE}\b"
    rf"|\b{_CHANNEL_RE}\s+only\b"
)
_DROP_CHANNEL_RE = re.compile(
    rf"\b(?:no|drop|remove|without|skip|not by|no more)\s+(?:the\s+|any\s+)?{_CHANNEL_RE}"
    r"(?!\s+(?:code|offer|discount))\b"
)
_ADD_CHANNEL_RE = re.compile(
    rf"\b(?:add|plus|also|and then)\s+(?:by\s+|via\s+)?(?:an?\s+|the\s+)?{_CHANNEL_RE}\b"
)
_DROP_OFFER_RE = re.compile(
    r"\b(?:drop|remove|no|without|skip|cut|lose|take out|get rid of|forget)\s+(?:the\s+|any\s+|"
    r"that\s+)?(?:discount|offer|coupon|promo code|code|incentive|deal|percent off|% off)s?\b"
)


def _channel(word: str) -> Channel:
    if word.startswith(("sms", "text")):
        return Channel.SMS
    return Channel.PUSH if word.startswith("push") else Channel.EMAIL


def apply_change(objective: Objective, change: str) -> tuple[Objective, list[str]]:
    """Apply a change request the offline engine understands ("SMS only", "add an SMS
    reminder", "no e-mail", "drop the discount", "make it 20% off", "exclude people who bought in
    the last week", "make it German", "in the customer's own language") to an objective;
    returns it with one note per change made (none: the request was not understood and nothing
    changed)."""
    low = change.lower()
    update: dict[str, object] = {}
    notes: list[str] = []
    channels = list(objective.channels)
    only = _ONLY_CHANNEL_RE.search(low)
    if only:
        channels = [_channel(only.group(1) or only.group(2))]
        notes.append(f"Change: {channels[0].value} only.")
    else:
        for m in _DROP_CHANNEL_RE.finditer(low):
            ch = _channel(m.group(1))
            if ch in channels and len(channels) > 1:
                channels.remove(ch)
                notes.append(f"Change: no {ch.value}.")
        for m in _ADD_CHANNEL_RE.finditer(low):
            ch = _channel(m.group(1))
            if ch not in channels:
                channels.append(ch)
                notes.append(f"Change: {ch.value} added as a later step.")
            else:
                notes.append(f"No change: {ch.value} is already in the plan.")
    if channels != objective.channels:
        update["channels"] = channels
    if _DROP_OFFER_RE.search(low):
        if objective.offer.kind != "none":
            update["offer"] = Offer()
            update["constraints"] = [c for c in objective.constraints if not c.startswith("BOGO")]
            notes.append("Change: no offer — the discount and its code are dropped.")
        else:
            notes.append("No change: there was no offer to drop.")
    else:
        offer, constraints = _read_offer(change, notes)
        if offer.kind != "none" or offer.code:
            kind_changed = offer.kind != "none"
            merged = (offer if kind_changed else objective.offer).model_copy(
                update={"code": offer.code or objective.offer.code}
            )
            update["offer"] = merged
            if constraints:
                update["constraints"] = [
                    *(c for c in objective.constraints if not c.startswith("BOGO")),
                    *constraints,
                ]
            notes.append(f"Change: the offer is now {offer_words(merged)}.")
    notes += _apply_language(objective, change, update)
    recent = _EXCLUDE_RECENT_RE.search(low)
    if recent:
        n = _amount(recent.group(1)) if recent.group(1) else 1
        days = n * {"day": 1, "week": 7, "month": 30}[recent.group(2)]
        hints = [h for h in objective.audience_hints if not h.startswith("exclude_bought_days:")]
        update["audience_hints"] = [*hints, f"exclude_bought_days:{days}"]
        notes.append(f"Change: people who ordered in the last {days} days are left out.")
    if not update:
        return objective, [n for n in notes if n.startswith("No change")]
    return objective.model_copy(update=update), notes


LANGUAGE_NAMES: dict[str, tuple[str, ...]] = {
    "de": ("german", "deutsch", "allemand", "alemão", "alemao"),
    "en": ("english", "englisch", "anglais", "inglês", "ingles"),
    "fr": ("french", "französisch", "franzosisch", "français", "francais", "francês", "frances"),
    "ja": ("japanese", "japanisch", "japonais", "japonês", "japones"),
    "pt": ("portuguese", "portugiesisch", "portugais", "português", "portugues"),
    "es": ("spanish", "spanisch", "espagnol", "español", "espanhol"),
    "it": ("italian", "italienisch", "italien", "italiano"),
    "nl": ("dutch", "niederländisch", "néerlandais"),
}
"""Language names a brief may use (English, German, French, Portuguese), by language code."""

_NAME_TO_CODE = {name: code for code, names in LANGUAGE_NAMES.items() for name in names}
_LANGUAGE_NAME = "|".join(sorted(map(re.escape, _NAME_TO_CODE), key=len, reverse=True))
_FIXED_LANGUAGE_RE = re.compile(
    rf"\b(?:in|auf|into|en|em)\s+(?:the\s+)?({_LANGUAGE_NAME})(?!\w)(?!\s+(?:customers?|"
    r"people|shoppers|buyers|speakers|market|audience|kunden|kundinnen))"
    rf"|\bmake\s+it\s+({_LANGUAGE_NAME})(?!\w)"
    rf"|\b({_LANGUAGE_NAME})\s+(?:only|copy|version)\b"
)
_OWN_LANGUAGE_RE = re.compile(
    r"\b(?:(?:the\s+|each\s+|every\s+)?(?:customer|person|recipient|reader|people)(?:'s|s'|s)?"
    r"|their|his\s+or\s+her)\s+(?:own\s+)?(?:language|locale|native tongue)s?\b"
    r"|\b(?:in\s+)?(?:der|ihrer|seiner|jeweiligen|eigenen)\s+(?:eigenen\s+)?"
    r"(?:sprache|muttersprache)\b|\bmuttersprache\b"
    r"|\bdans\s+(?:la\s+)?(?:sa|leur)\s+(?:propre\s+)?langue\b"
    r"|\bno\s+(?:seu|próprio)\s+(?:próprio\s+)?idioma\b"
)


def read_language(text: str) -> tuple[bool, str | None]:
    """The copy language a brief or a change asks for: `(True, "de")` for "make it German",
    "auf Deutsch", "send it in French only"; `(True, None)` for "in the customer's own
    language"; `(False, None)` when it names none."""
    low = text.lower()
    if _OWN_LANGUAGE_RE.search(low):
        return True, None
    m = _FIXED_LANGUAGE_RE.search(low)
    if m is None:
        return False, None
    return True, _NAME_TO_CODE[next(g for g in m.groups() if g)]


def language_words(code: str | None) -> str:
    """The plan's copy language in words: `German (de) for everyone`, `each person's own`."""
    if code is None:
        return "each person's own (where the brand kit has it)"
    return f"{_language_name(code)} for everyone"


def _language_name(code: str) -> str:
    return f"{LANGUAGE_NAMES.get(code, (code,))[0].capitalize()} ({code})"


def _apply_language(
    objective: Objective, text: str, update: dict[str, object], done: str = "Change"
) -> list[str]:
    """The copy language `text` asks for, put in `update`; its note, starting with `done`
    (none: it names no language)."""
    named, code = read_language(text)
    if not named:
        return []
    if code == objective.language:
        return [f"No change: the copy language is already {language_words(code)}."]
    update["language"] = code
    if code is None:
        return [
            f"{done}: each person gets the copy in their own language where the brand kit has "
            "it, else in its default language."
        ]
    return [
        f"{done}: every message in {language_words(code)}, whatever each person's own "
        "language (the audience is unchanged)."
    ]


def language_in_kit(parsed: BriefParse, languages: Sequence[str]) -> BriefParse:
    """The parse with a copy language the brand kit has no copy in (`languages`: its default
    first) set back to each person's own language, and a note that says so."""
    objective = parsed.objective
    if objective is None or objective.language is None or objective.language in languages:
        return parsed
    note = (
        f"Not applied: the brand kit has no copy in {_language_name(objective.language)} (it "
        f"has {', '.join(languages)}), so each person gets their own language where the kit "
        f"has it, else {languages[0]}. Add the language under `locales` in the brand kit, with "
        "translations in its copy bank (an LLM, when configured, writes the rest)."
    )
    return parsed.model_copy(
        update={
            "objective": objective.model_copy(update={"language": None}),
            "assumptions": [*parsed.assumptions, note],
        }
    )


def offer_words(offer: Offer) -> str:
    """The offer in words: `10 % off with code COMEBACK10`, `$10 off orders over $50`, `free
    shipping`, `no offer`."""
    if offer.kind == "percent_off":
        words = f"{offer.percent or 0:g} % off"
    elif offer.kind == "amount_off" and offer.amount:
        cur = offer.currency or ""  # no sign when the currency is not known
        words = f"{money_text(offer.amount, cur)} off"
        if offer.min_order:
            words += f" orders over {money_text(offer.min_order, cur)}"
    elif offer.kind == "free_shipping":
        words = "free shipping"
    elif offer.kind == "gift":
        words = "a gift"
    else:
        return "no offer"
    return (
        words
        + (f" with code {offer.code}" if offer.code else "")
        + (f", until {offer.expires}" if offer.expires else "")
    )


_VOCAB_EXTRA = (
    "winback",
    "reactivate",
    "reminder",
    "remind",
    "bought",
    "purchased",
    "ordered",
    "clicked",
    "opened",
    "abandoned",
    "notification",
    "e-mail",
    "email",
    "newsletter",
)
"""Words typos are read as, besides the goal words and the catalog's categories."""
_NOT_TYPOS = frozenset(
    [
        "retail",
        "lunch",
        "royal",
        "local",
        "action",
        "brought",
        "sought",
        "church",
        "gmail",
        "detail",
        "remain",
        "rewind",
        "regular",
        "complimentary",
        "lapse",
        "bright",
        "fought",
        "thought",
        "opener",
        "clocked",
        "flicked",
        "emails",
    ]
)
"""Real words one edit away from a planner word (`retail` is not a typo of `retain`)."""
_WORD_RE = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_PART_RE = re.compile(r"[^\W\d_]+")


def _edits(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions (`emial` → `email` is 1); `limit + 1` as soon
    as it is certain to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return prev[-1]


def _read_typos(
    text: str, categories: Sequence[str], products: Sequence[Product]
) -> tuple[str, list[str]]:
    """The brief with misspelt planner words put right ("winbak" → "winback", "emial" →
    "email"), and one note per correction. Only words of five letters or more, at most one
    edit away (two from words of eight or more); never a word of a catalog product's name (or
    one edit from one), and goal words only when the brief names no goal as written."""
    low = text.lower()
    vocab = [
        *_VOCAB_EXTRA,
        *(c.lower() for c in categories),
    ]
    if not any(_says(low, w) for _g, words in _GOAL_WORDS for w in words):
        vocab += [w for _g, words in _GOAL_WORDS for w in words if " " not in w]
    vocab = [w for w in dict.fromkeys(vocab) if len(w) >= 5]
    catalog = {w for p in products for w in _WORD_RE.findall(p.name.lower())}
    notes: list[str] = []
    out: list[str] = []
    last = 0
    for m in _WORD_RE.finditer(text):
        # a hyphenated word as a whole ("cros-sell"), else each of its parts ("Warenkrob-…")
        spans = [(m.start(), m.end())]
        if "-" in m.group(0):
            spans += [
                (p.start() + m.start(), p.end() + m.start()) for p in _PART_RE.finditer(m.group(0))
            ]
        for start, end in spans:
            best = _typo_of(text[start:end].lower(), vocab, catalog)
            if best is not None:
                out += [text[last:start], best]
                last = end
                notes.append(f"Read “{text[start:end]}” as “{best}”.")
                break
    return "".join([*out, text[last:]]), notes


def _typo_of(word: str, vocab: Sequence[str], catalog: set[str]) -> str | None:
    """The vocabulary word `word` is a typo of, or None (see `_read_typos`)."""
    if len(word) < 5 or word in _NOT_TYPOS or any(v in word for v in vocab):
        return None
    if any(_edits(word, c, 1) <= 1 for c in catalog):
        return None
    limit = 2 if len(word) >= 8 else 1
    best = min(vocab, key=lambda v: _edits(word, v, limit))
    return best if _edits(word, best, limit) <= limit else None


def _offline_parse(
    text: str,
    categories: Sequence[str],
    now: datetime | None = None,
    products: Sequence[Product] = (),
) -> BriefParse:
    text, assumptions = _read_typos(text, categories, products)
    low = text.lower()
    lang = _language(low)
    questions: list[str] = []

    goal = next((g for g, words in _GOAL_WORDS if any(_says(low, w) for w in words)), None)
    if goal is None:
        questions.append(_QUESTIONS[lang]["goal"])

    channels = _channels_in_order(low)
    if not channels:
        channels = [Channel.EMAIL]
        assumptions.append("No channel named: using e-mail.")

    holdout_match = _HOLDOUT_RE.search(text)
    rest = text
    hints: list[str] = []
    if holdout_match:
        value = float(holdout_match.group(1) or holdout_match.group(2))
        hints.append(f"holdout:{value / 100:.3f}")
        rest = text[: holdout_match.start()] + text[holdout_match.end() :]

    offer, constraints = _read_offer(rest, assumptions)

    hints.extend(_category_hints(low, categories))
    opens = _opens_hints(low, assumptions)
    hints.extend(opens)
    recency = _RECENCY_RE.search(low)
    bought_within = (
        recency
        and goal == Goal.PROMOTION
        and _PURCHASE_CLAUSE_RE.search(_clause_at(low, *recency.span()))
    )
    if recency and not opens and (goal in _RECENCY_GOALS or bought_within):
        n = int(recency.group(1)) if recency.group(1).isdigit() else 1
        days = n * _RECENCY_DAYS.get(recency.group(2), 365)
        # lapsed for at least N days (win-back, retention); bought within N days (cross-sell,
        # a promotion to "who bought in the last 30 days"; "who haven't bought" is lapsed)
        within = goal == Goal.CROSS_SELL or (bought_within and not bought_within.group(1))
        hints.append(f"recency_days_{'lte' if within else 'gte'}:{days}")
    hints.extend(_audience_hints(low))
    journey = _journey_hints(low)
    hints.extend(journey)
    gaps = [h.split(":", 1)[1] for h in journey if h.startswith("delay_hours:")]
    if len(gaps) > 1:
        assumptions.append(
            "Delays read as the time after the previous step: "
            + ", ".join(f"step {i} {g} h after step {i - 1}" for i, g in enumerate(gaps, start=2))
            + "."
        )
    hints.extend(_catalog_hints(text, products, assumptions, goal))
    start, end = _read_dates(low, now, assumptions)

    if goal == Goal.PROMOTION and offer.kind == "none":
        questions.append(_QUESTIONS[lang]["offer"])
    if questions:
        return BriefParse(questions=questions, assumptions=assumptions)
    assert goal is not None
    cat_hint = next((h.split(":", 1)[1] for h in hints if h.startswith("category:")), None)
    name = goal.value.replace("_", " ").title() + (f" — {cat_hint}" if cat_hint else "")
    return BriefParse(
        objective=Objective(
            name=name,
            goal=goal,
            kpi="conversion_rate",
            audience_hints=hints,
            channels=channels,
            offer=offer,
            start=start,
            end=end,
            constraints=constraints,
            recurrence=_recurrence(text),
            trigger=_trigger(text, goal),
        ),
        assumptions=assumptions,
    )


_GERMAN_WORDS = frozenset(
    re.findall(
        r"\w+",
        "und der die das wir ihr nicht mit für kunden kundinnen eine einen ist auf zu von "
        "im den dem des vom bei zum zur allen neuen neuer sollen wollen bitte mehr umsatz",
    )
)
_QUESTIONS: dict[str, dict[str, str]] = {
    "en": {
        "goal": "What is the goal: win back lapsed customers, recover abandoned carts, "
        "cross-sell to recent buyers, launch a product, run a promotion, or retain at-risk "
        "customers?",
        "offer": "What is the offer (e.g. 15% off, free shipping, buy one get one), for whom, "
        "and from when to when? Without one I would have to invent it.",
    },
    "de": {
        "goal": "Was ist das Ziel: inaktive Kundinnen und Kunden zurückgewinnen, abgebrochene "
        "Warenkörbe retten, an Neukäufer weiterverkaufen, ein Produkt einführen, eine Aktion "
        "starten oder gefährdete Kunden halten?",
        "offer": "Welches Angebot soll es geben (z. B. 15 % Rabatt, kostenloser Versand), für "
        "wen und in welchem Zeitraum? Ohne Angabe müsste ich es erfinden.",
    },
}
"""Clarifying questions per language of the brief."""


_NEEDS_NEW = frozenset({"announce", "ankündig", "vorstellen"})
"""Goal words that mean a launch only when the brief also says the thing is new ("announce the
new boot", not "announce the sale")."""


def _says(low: str, word: str) -> bool:
    """True when the brief has the goal word (and, for `_NEEDS_NEW` words, says "new")."""
    if word not in low:
        return False
    return word not in _NEEDS_NEW or re.search(r"\bnew\b|\bneue?[nrsm]?\b", low) is not None


def _channels_in_order(low: str) -> list[Channel]:
    """The channels the brief names, in the order it first names them ("SMS, then e-mail")."""
    low = _OPENED_MESSAGE_RE.sub(" ", low)
    first: list[tuple[int, Channel]] = []
    for channel, pattern in _CHANNEL_PATTERNS.items():
        hit = pattern.search(low)
        if hit:
            first.append((hit.start(), channel))
    return [c for _, c in sorted(first)]


def _opens_hints(low: str, assumptions: list[str]) -> list[str]:
    """`opens_eq:0` for "never opened", `days_since_open_gte:N` for "not opened in N days"."""
    hints: list[str] = []
    window = _NOT_OPENED_RE.search(low)
    if window:
        n, unit = window.group(1, 2) if window.group(1) else window.group(3, 4)
        hints.append(f"days_since_open_gte:{int(n) * _RECENCY_DAYS[unit]}")
    elif _NEVER_OPENED_RE.search(low):
        hints.append("opens_eq:0")
    if hints:
        assumptions.append(
            "Opens are known only for messages sent with the open pixel on (brand kit "
            "tracking.open_pixel): people whose opens were never tracked count as never opened."
        )
    return hints


def _category_hints(low: str, categories: Sequence[str]) -> list[str]:
    """`category:<cat>` for each catalog category the brief names, in English ("footwear") or
    by a German word for it, alone or leading a compound ("Schuhe", "Schuhfans",
    "Bekleidungsfans")."""
    hints: list[str] = []
    for cat in categories:
        german = [w for w, en in _GERMAN_PRODUCT_WORDS.items() if en == cat.lower()]
        words = [re.escape(cat.lower()), *(re.escape(w) + "[a-zäöüß]*" for w in german)]
        if re.search(rf"\b(?:{'|'.join(words)})\b", low):
            hints.append(f"category:{cat}")
    return hints


def _audience_hints(low: str) -> list[str]:
    """Spend (`monetary_gt:200`), order count, lifecycle stage and country named in the
    brief."""
    hints: list[str] = []
    for pattern in _MONETARY_RES:
        m = pattern.search(low)
        if m:
            word, amount = m.group(1), float(m.group(2).replace(",", ""))
            less = word in ("under", "less than", "below", "<", "unter", "weniger als")
            op = "lt" if less else "gte" if word == "at least" else "gt"
            hints.append(f"monetary_{op}:{amount:g}")
            break
    for op, pattern in _FREQUENCY_RES:
        m = pattern.search(low)
        if m:
            hints.append(f"frequency_{op}:{m.group(1) or 1}")
            break
    stage = next((name for name, rx in _STAGE_WORDS if re.search(rx, low)), None)
    if stage:
        hints.append(f"stage:{stage}")
    country = next((code for code, rx in _COUNTRIES if re.search(rx, low)), None)
    if country:
        hints.append(f"country:{country}")
    return hints


def _language(low: str) -> str:
    """`de` when the brief reads as German (common function words, umlauts), else `en`."""
    words = re.findall(r"[a-zäöüß]+", low)
    german = sum(w in _GERMAN_WORDS for w in words) + sum(c in "äöüß" for c in low)
    return "de" if words and german >= max(2, len(words) // 6) else "en"


def _read_offer(rest: str, assumptions: list[str]) -> tuple[Offer, list[str]]:
    """The offer (percent, free shipping, BOGO) and code in the brief, and its constraints."""
    low = rest.lower()
    constraints: list[str] = []
    offer = Offer()
    if re.search(r"free shipping|kostenlose\w* versand|gratis-?versand|versandkostenfrei", low):
        offer = Offer(kind="free_shipping")
    elif re.search(r"\b(?:free )?gift\b|\bgeschenk", low):
        offer = Offer(kind="gift")
    amount = _amount_offer(low)
    if amount is not None and not _PERCENT_RE.search(rest):
        offer = amount
    bogo = _BOGO_RE.search(rest)
    pct = _PERCENT_RE.search(rest)
    if bogo:
        percent = float(bogo.group(1)) if bogo.group(1) else 100.0
        offer = Offer(kind="percent_off", percent=min(percent, 100.0))
        constraints.append(f"BOGO: {percent:g}% off the second item of a purchase of two.")
        assumptions.append(
            f"Read as buy-one-get-one: {percent:g}% off applies to the second item only."
        )
    elif pct and float(pct.group(1).replace(",", ".")) <= 100:
        offer = Offer(kind="percent_off", percent=float(pct.group(1).replace(",", ".")))
    code = _CODE_RE.search(rest)
    if code and _looks_like_code(code.group(1)):
        if offer.kind == "none":
            assumptions.append(f"Code {code.group(1).upper()} named without an offer kind.")
        offer = offer.model_copy(update={"code": code.group(1).upper()})
    return offer, constraints


_MIN_ORDER_RE = re.compile(
    rf"[^.;]{{0,30}}?(?:\b(?:orders?|purchases?|spend|baskets?|einkäufe?)\s+(?:over|above|of|from)"
    rf"|\bab|\bmindestbestellwert(?:\s+von)?)\s+{MONEY}"
)


def _amount_offer(low: str) -> Offer | None:
    """A fixed amount off ("$10 off", "10 € Rabatt", "£5 off orders over £50"), or None."""
    found = amounts_off(low)
    if not found:
        return None
    first = found[0]
    minimum = _MIN_ORDER_RE.match(low, first.end)
    return Offer(
        kind="amount_off",
        amount=first.amount,
        currency=first.currency,
        min_order=money_at(minimum, 1)[0] if minimum else None,
    )


def _looks_like_code(token: str) -> bool:
    """A promo code has a digit or is written in capitals (`WELCOME15`, `SPRING`)."""
    return any(c.isdigit() for c in token) or (token.isupper() and len(token) >= 4)


_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
_AMOUNT = r"(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"
_UNIT_HOURS = {"hour": 1, "day": 24, "week": 168}
_DELAY_RE = re.compile(
    rf"\b{_AMOUNT}\s+(hour|day|week)s?\s+(?:later|afterwards|after\s+that)\b"
    rf"|\b(?:after|wait)\s+{_AMOUNT}\s+(hour|day|week)s?\b"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


_EXCLUDE_RECENT_RE = re.compile(
    r"\b(?:exclud\w*|leave out|skip|without|not|no|except|minus|remove|don't (?:send|target))\b"
    r"[^.;]*?\b(?:bought|ordered|purchased|buyers|purchasers|customers who (?:bought|ordered))\b"
    rf"[^.;]*?\b(?:last|past|previous)\s+(?:{_AMOUNT}\s+)?(day|week|month)s?\b"
)


def _amount(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


_CLAUSE_END_RE = re.compile(r"[,;.!?—–]|\bthen\b|\bdann\b")


def _clause_at(text: str, start: int, end: int | None = None) -> str:
    """The clause of `text` around `text[start:end]` (between commas, full stops, "then")."""
    before = [b.end() for b in _CLAUSE_END_RE.finditer(text, 0, start)]
    after = _CLAUSE_END_RE.search(text, start if end is None else end)
    return text[before[-1] if before else 0 : after.start() if after else len(text)]


def _journey_hints(low: str) -> list[str]:
    """Delays between steps, in order (`delay_hours:48`, then `delay_hours:168` for "SMS two
    days later, push a week after that"), each with the channel its clause names
    (`step_channel:sms`, `-` when none), and a follow-up condition (`condition:…`)."""
    hints: list[str] = []
    text = _english_time(low)
    for delay in _DELAY_RE.finditer(text):
        n, unit = (delay.group(1), delay.group(2)) if delay.group(1) else delay.group(3, 4)
        hints.append(f"delay_hours:{_amount(n) * _UNIT_HOURS[unit]}")
        # the channel named in the same clause is that step's ("…, SMS 2 days later, …")
        named = _channels_in_order(_clause_at(text, delay.start(), delay.end()))
        hints.append(f"step_channel:{named[0].value if named else '-'}")
    if re.search(r"\b(?:didn't|did not|didnt|haven't|have not|not)\s+click|nicht geklickt", low):
        hints.append("condition:not_clicked")
    return hints


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_GERMAN_TIME_WORDS = {
    "nächsten": "next",
    "nächste": "next",
    "diesen": "this",
    "dieses": "this",
    "diese": "this",
    "montag": "monday",
    "dienstag": "tuesday",
    "mittwoch": "wednesday",
    "donnerstag": "thursday",
    "freitag": "friday",
    "samstag": "saturday",
    "sonntag": "sunday",
    "morgen": "tomorrow",
    "für": "for",
    "ab": "from",
    "vom": "from",
    "bis": "to",
    "nach": "after",
    "später": "later",
    "danach": "afterwards",
    "darauf": "afterwards",
    "ein": "one",
    "eine": "one",
    "einen": "one",
    "einem": "one",
    "zwei": "two",
    "drei": "three",
    "vier": "four",
    "fünf": "five",
    "sechs": "six",
    "sieben": "seven",
    "stunde": "hour",
    "stunden": "hours",
    "h": "hours",
    "tag": "day",
    "tage": "days",
    "tagen": "days",
    "woche": "week",
    "wochen": "weeks",
    "lang": "long",
    "januar": "january",
    "februar": "february",
    "märz": "march",
    "mai": "may",
    "juni": "june",
    "juli": "july",
    "oktober": "october",
    "dezember": "december",
}
_WEEKDAY_RX = "|".join(_WEEKDAYS)
_MONTH_RX = "|".join(_MONTHS)
_ABS_DATE_RE = re.compile(
    rf"\b(?:({_MONTH_RX})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|(\d{{1,2}})(?:st|nd|rd|th|\.)?\s+(?:of\s+)?({_MONTH_RX})\b"
    rf"|(\d{{1,2}})\.?\s+(?:to|-|–)\s+(?=\d{{1,2}}\.?\s+({_MONTH_RX})\b)"
    r"|\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b)"
)
_WEEKDAY_RE = re.compile(
    rf"\b(?:(next|this)\s+|(?:on|starting|from|until|through|to|till|by)\s+)({_WEEKDAY_RX})\b"
    r"|\b(tomorrow)\b"
)
_DURATION_RE = re.compile(
    rf"\bfor\s+(?:the\s+next\s+)?{_AMOUNT}\s+(hour|day|week)s?\b"
    rf"|\b{_AMOUNT}\s+(day|week)s?\s+long\b"
)
_MONTH_END_RE = re.compile(r"\bend of (?:the|this) month\b|\bende des monats\b")


def _english_time(low: str) -> str:
    """German date and delay words as English ones, so one set of patterns reads both."""
    return re.sub(
        r"[a-zäöüß]+", lambda m: _GERMAN_TIME_WORDS.get(m.group(0), m.group(0)), low
    ).replace("48h", "48 hours")


def _date_on(now: datetime, month: int, day: int) -> datetime | None:
    """Midnight UTC of the next `month`/`day` on or after `now`'s day."""
    base = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for year in (now.year, now.year + 1):
        try:
            when = base.replace(year=year, month=month, day=day)
        except ValueError:
            return None
        if when >= base:
            return when
    return None


def _absolute_dates(text: str, now: datetime) -> list[tuple[int, datetime]]:
    """(position, date) of "December 1st", "1. Dezember", "27. to 30. November", "the 15th"."""
    out: list[tuple[int, datetime]] = []
    for m in _ABS_DATE_RE.finditer(text):
        if m.group(1):
            month, day = _MONTHS.index(m.group(1)) + 1, int(m.group(2))
        elif m.group(3):
            month, day = _MONTHS.index(m.group(4)) + 1, int(m.group(3))
        elif m.group(5):
            month, day = _MONTHS.index(m.group(6)) + 1, int(m.group(5))
        else:
            day = int(m.group(7))
            month = now.month if day >= now.day else now.month % 12 + 1
        when = _date_on(now, month, day)
        if when is not None:
            out.append((m.start(), when))
    return out


def _read_dates(
    low: str, now: datetime | None, assumptions: list[str]
) -> tuple[datetime | None, datetime | None]:
    """Start and end (exclusive) from "next Monday", "tomorrow", "for two weeks", "December
    1st", "November 27 to November 30", "until Sunday", "end of the month" (German too),
    relative to `now`."""
    text = _english_time(low)
    weekdays = list(_WEEKDAY_RE.finditer(text))
    duration = _DURATION_RE.search(text)
    month_end = _MONTH_END_RE.search(low)
    if now is None:
        if weekdays or duration or month_end or _ABS_DATE_RE.search(text):
            assumptions.append(
                "Dates in the brief were not resolved (no reference time): start now."
            )
        return None, None
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    found = _absolute_dates(text, now)
    for m in weekdays:
        if m.group(3):
            found.append((m.start(), day + timedelta(days=1)))
            continue
        weekday = _WEEKDAYS.index(m.group(2))
        ahead = (weekday - now.weekday()) % 7
        if m.group(1) == "next":
            # "next Friday" is the Friday of next week (Monday to Sunday), said on any day;
            # when this week's Friday is still ahead, the plan says which one it took
            nearest = ahead
            ahead = 7 - now.weekday() + weekday
            if 0 < nearest < ahead:
                when, this = day + timedelta(days=ahead), day + timedelta(days=nearest)
                assumptions.append(
                    f"Read “next {when:%A}” as {when:%A} {when.day} {when:%B %Y} (next week's), "
                    f"not this week's {this.day} {this:%B}."
                )
        found.append((m.start(), day + timedelta(days=ahead)))
    found.sort(key=lambda x: x[0])
    start: datetime | None = None
    end: datetime | None = None
    for pos, when in found:
        before = text[max(0, pos - 12) : pos]
        is_end = re.match(r"(?:until|through|to|till|by)\b", text[pos:]) or re.search(
            r"\b(?:until|through|to|till|by)\s+$", before
        )
        if (is_end or start is not None) and end is None and (start is None or when >= start):
            end = when + timedelta(days=1)
        elif start is None:
            start = when
    if duration and end is None:
        n, unit = duration.group(1, 2) if duration.group(1) else duration.group(3, 4)
        end = (start or now) + timedelta(hours=_amount(n) * _UNIT_HOURS[unit])
    if month_end and end is None:
        end = _date_on(now, now.month % 12 + 1, 1) if now.month < 12 else None
        if end is None:
            end = day.replace(year=now.year + 1, month=1, day=1)
    if start is None and end is None:
        return None, None
    assumptions.append(
        "Dates read in UTC: start "
        + (f"{start:%A %Y-%m-%d}" if start else "now")
        + (f", end {end:%A %Y-%m-%d} (exclusive)" if end else "")
        + "."
    )
    return start, end


_NAMED_PRODUCT_RE = re.compile(
    r"\b(?i:launch|introduce|announce|promote)\s+(?i:our|the)?\s*(?i:new|latest)?\s*"
    r"((?:[A-Z][\w&'-]*\s?){1,5})"
)
_BOUGHT_RE = re.compile(
    r"\b(?:bought|purchased|ordered)\s+(?:a|an|the|some|one|our)?\s*"
    r"(?!(?:in|for|within|over|during|since|from|at|on|before|after|anything|recently)\b)"
    r"([a-z][a-z-]*(?:\s[a-z-]+)?)",
    re.I,
)


_BOUGHT_DE_RE = re.compile(
    r"\b(?:ein|eine|einen|einem|die|den|das|unsere?n?)?\s*([a-zäöüß][a-zäöüß-]*)\s+"
    r"(?:bei uns\s+|schon\s+|mal\s+)?(?:gekauft|bestellt)\b"
    r"|\b([a-zäöüß][a-zäöüß-]*?)-?käufer",
    re.I,
)
"""A German purchase audience: "die ein Zelt gekauft haben", "Stirnlampen-Käufer"."""
_GERMAN_PRODUCT_WORDS = {
    "zelt": "tent",
    "zelte": "tent",
    "schuh": "footwear",
    "schuhe": "footwear",
    "stiefel": "boot",
    "wanderschuh": "hiking boot",
    "wanderschuhe": "hiking boot",
    "stirnlampe": "headlamp",
    "stirnlampen": "headlamp",
    "wasserfilter": "water filter",
    "schlafsack": "sleeping bag",
    "wanderstöcke": "trekking poles",
    "mütze": "beanie",
    "sonnenbrille": "sunglasses",
    "geldbörse": "wallet",
    "kissen": "cushion",
    "decke": "blanket",
    "lampe": "lamp",
    "tasse": "mug",
    "tassen": "mug",
    "bekleidung": "apparel",
    "kleidung": "apparel",
    "zubehör": "accessories",
    "haushalt": "home",
}
"""German words for the sample catalog's products and categories, so "die ein Zelt gekauft
haben" reads as "bought a tent" and "Schuhfans" as the footwear category."""

_NOT_BOUGHT_DE = frozenset(
    re.findall(
        r"\w+",
        "etwas nichts noch nicht nie je jemals was haben hat uns bereits schon zuletzt kürzlich "
        "tag tage tagen woche wochen monat monate monaten jahr jahre jahren bisher einmal oft "
        "mehrfach online erst neu wieder stamm viel gelegenheits",
    )
)
"""Words before "gekauft" (or "-käufer") that are not what was bought ("in den letzten 30 Tagen
gekauft", "Erstkäufer")."""


def _bought_words(text: str) -> tuple[str, str] | None:
    """(what was bought, in English; as the brief says it) for "bought a tent", "ordered the
    Daypack", "die ein Zelt gekauft haben", "Stirnlampen-Käufer"; None when the brief names no
    purchase."""
    bought = _BOUGHT_RE.search(text)
    if bought:
        return bought.group(1), bought.group(1)
    german = _BOUGHT_DE_RE.search(text)
    if german is None:
        return None
    said = german.group(1) or german.group(2)
    if said.lower() in _NOT_BOUGHT_DE:
        return None
    return _GERMAN_PRODUCT_WORDS.get(said.lower(), said), said


def _catalog_hints(
    text: str, products: Sequence[Product], assumptions: list[str], goal: Goal | None = None
) -> list[str]:
    """Products and past purchases named in the brief, matched against the catalog.

    `product:<id>` for a product named by its catalog name; `bought:<word>` for "bought a
    tent" when some catalog product or category has that word. What matched, and what did
    not, is added to `assumptions`.
    """
    hints: list[str] = []
    named = _named_product(text, products)
    if named is not None:
        hints.append(f"product:{named.id}")
        assumptions.append(
            f"Product: {named.name} ({named.id}, {named.category}) from the catalog."
        )
    elif goal != Goal.PRODUCT_LAUNCH:  # a launch asks which product instead (_launch_check)
        wanted = _NAMED_PRODUCT_RE.search(text)
        if wanted and products:
            assumptions.append(
                f"No product named {wanted.group(1).strip()!r} in the catalog: the copy "
                "features the category's products instead; add it to the catalog to feature it."
            )
    bought = _bought_words(text)
    if bought:
        words = bought[0].lower().split()
        term = next(
            (
                w.removesuffix("s")
                for w in (" ".join(words), words[0])
                if any(_names(p, w.removesuffix("s")) for p in products)
            ),
            None,
        )
        if term is not None:
            hints.append(f"bought:{term}")
            said = "" if bought[1] == bought[0] else f" (read {bought[1]!r} as {bought[0]!r})"
            assumptions.append(
                f"Audience: people who ever ordered a product whose name or category "
                f"has {term!r} (any time, any quantity){said}."
            )
        elif products:
            assumptions.append(
                f"No catalog product matches {bought[1]!r}: the audience is not narrowed "
                "by purchase history."
            )
    return hints


def _named_product(text: str, products: Sequence[Product]) -> Product | None:
    """The catalog product the text names by its full name (the longest such name)."""
    low = text.lower()
    named = [p for p in products if p.name.lower() in low]
    return max(named, key=lambda p: len(p.name)) if named else None


NEW_FOR_DAYS = 90
"""A product counts as new (launch copy may call it new) this many days after `launched`."""

_NEW_NAME_RE = re.compile(
    r"\b(?i:new|latest|neue[nrsm]?|neuste[nrsm]?|neueste[nrsm]?)\s+((?:[A-Z][\w&'-]*\s?){1,4})"
)
_LAUNCH_QUESTIONS = {
    "en": (
        "Which product is this launch for? {wanted}Launch copy presents the product it names as "
        "new, so it has to be one from the catalog{close}. Name it, or add it to the catalog "
        "first."
    ),
    "de": (
        "Welches Produkt wird eingeführt? {wanted}Der Text stellt das genannte Produkt als neu "
        "vor, es muss also eines aus dem Katalog sein{close}. Nennt es, oder legt es zuerst im "
        "Katalog an."
    ),
}
_NOT_NEW_QUESTIONS = {
    "en": (
        "The catalog says the {name} went on sale on {launched}, so it is not new, and launch "
        "copy would call it new. Should this be a promotion or a cross-sell instead, or is the "
        "catalog's date wrong?"
    ),
    "de": (
        "Laut Katalog ist {name} seit {launched} im Verkauf, also nicht neu, und der Text einer "
        "Einführung nennt es neu. Soll es eine Aktion oder eine Empfehlung werden, oder stimmt "
        "das Datum im Katalog nicht?"
    ),
}


def _wanted_product(text: str) -> str | None:
    """The product a brief names, as written ("Storm Rain Jacket"), catalog or not."""
    m = _NAMED_PRODUCT_RE.search(text) or _NEW_NAME_RE.search(text)
    return m.group(1).strip() if m and m.group(1).strip() else None


def _close_products(wanted: str, products: Sequence[Product], n: int = 3) -> list[Product]:
    """Catalog products closest to a name: shared words first, then similar spelling."""
    words = {w for w in _WORD_RE.findall(wanted.lower()) if len(w) > 2}

    def score(p: Product) -> float:
        shared = len(words & set(_WORD_RE.findall(p.name.lower())))
        return shared + difflib.SequenceMatcher(None, wanted.lower(), p.name.lower()).ratio()

    ranked = sorted(products, key=score, reverse=True)
    return [p for p in ranked if score(p) >= 0.6][:n]


def _launch_check(
    parsed: BriefParse, said: str, products: Sequence[Product], now: datetime | None
) -> BriefParse:
    """A launch features one catalog product, and its copy calls that product new: a launch
    whose brief names no catalog product gets a question listing the closest ones, and one
    whose product the catalog dates more than `NEW_FOR_DAYS` back gets a question too (any
    engine; not without a catalog)."""
    o = parsed.objective
    if o is None or o.goal != Goal.PRODUCT_LAUNCH or not products:
        return parsed
    by_id = {p.id: p for p in products}
    hinted = next((h.split(":", 1)[1] for h in o.audience_hints if h.startswith("product:")), "")
    product = by_id.get(hinted) or _named_product(said, products)
    lang = _language(said.lower())
    if product is None:
        wanted = _wanted_product(said)
        close = _close_products(wanted, products) if wanted else []
        if not close:
            close = sorted(
                (p for p in products if p.launched is not None),
                key=lambda p: p.launched or date.min,
                reverse=True,
            )[:3]
        if lang == "de":
            named = f"„{wanted}“ ist nicht im Katalog. " if wanted else ""
            listed = f" (am nächsten: {', '.join(p.name for p in close)})" if close else ""
        else:
            named = f"“{wanted}” is not in the catalog. " if wanted else ""
            listed = f" (closest: {', '.join(p.name for p in close)})" if close else ""
        question = _LAUNCH_QUESTIONS[lang].format(wanted=named, close=listed)
        return BriefParse(questions=[question], assumptions=parsed.assumptions)
    notes = list(parsed.assumptions)
    if product.launched is None:
        notes.append(
            f"The catalog has no launch date for the {product.name}: the copy calls it new on the "
            "brief's word (set its `launched` date in the catalog to have this checked)."
        )
    elif now is not None and (now.date() - product.launched).days > NEW_FOR_DAYS:
        question = _NOT_NEW_QUESTIONS[lang].format(
            name=product.name, launched=product.launched.isoformat()
        )
        return BriefParse(questions=[question], assumptions=notes)
    hints = o.audience_hints
    if f"product:{product.id}" not in hints:
        hints = [*(h for h in hints if not h.startswith("product:")), f"product:{product.id}"]
    return BriefParse(objective=o.model_copy(update={"audience_hints": hints}), assumptions=notes)


def _names(product: Product, word: str) -> bool:
    """True when `word` (or its plural) is a whole word of the product's name or category."""
    pattern = re.compile(rf"\b{re.escape(word)}s?\b", re.I)
    return bool(pattern.search(product.name) or pattern.search(product.category))


_OPTED_OUT_RE = re.compile(
    r"\b(?:opted[- ]out|opt[- ]outs?|unsubscribed|unsubscribers|unsubscribe list|without consent|"
    r"did not consent|didn't consent|no consent|never agreed|replied stop|data broker|"
    r"(?:bought|purchased|rented) (?:e-?mail )?(?:list|addresses)|abgemeldet|abmeldeliste|"
    r"keiner \w+ zugestimmt|nicht zugestimmt|ohne einwilligung|gekaufte\w* adress\w*)\b"
)


_EXCLUSION_RE = re.compile(
    r"\b(?:exclud\w*|except|not|no|without|skip\w*|minus|leave out|don't|dont|never|"
    r"nicht|kein\w*|niemand\w*|ohne|außer|ausgenommen)\b"
)


def _consent_conflicts(low: str) -> list[str]:
    """Refusals for parts of the brief that would contact people against their consent
    (not when the brief itself leaves them out: "excluding people who opted out")."""
    asks = [
        m
        for m in _OPTED_OUT_RE.finditer(low)
        if not _EXCLUSION_RE.search(low[max(0, m.start() - 40) : m.start()])
    ]
    if not asks:
        return []
    return [
        "Refused: contacting people who opted out or never consented. Their consent (or its "
        "withdrawal) is binding on every channel, so they are left out of the audience and no "
        "other channel is added to reach them; the rest of the plan covers people who consented."
    ]


# --- objective → plan ---------------------------------------------------------------------


def draft_plan(
    llm: LLMClient,
    objective: Objective,
    *,
    categories: Sequence[str],
    campaign_id: str | None = None,
) -> Plan:
    """Turn an objective into audiences, a holdout and a journey, and validate the result."""
    system = render_prompt(
        "draft_plan.j2",
        categories=list(categories),
        channels=[c.value for c in objective.channels],
    )
    draft, fallback = llm.generate_or_offline(
        "draft_plan",
        system=system,
        user=delimit("objective", objective.model_dump(mode="json")),
        schema=PlanDraft,
        offline=lambda: _offline_plan(objective),
        campaign_id=campaign_id,
    )
    plan = _validate_plan(objective, draft)
    if fallback:
        plan = plan.model_copy(update={"assumptions": [*plan.assumptions, fallback]})
    return plan


def _hint(objective: Objective, key: str) -> str | None:
    return next(iter(_hints(objective, key)), None)


def _hints(objective: Objective, key: str) -> list[str]:
    """Every value of a hint, in order (`delay_hours` comes once per later step)."""
    return [h.split(":", 1)[1] for h in objective.audience_hints if h.startswith(key + ":")]


def _offline_plan(objective: Objective) -> PlanDraft:
    cat = _hint(objective, "category")
    cat_filter = [AudienceFilter(feature="favorite_category", op="eq", value=cat)] if cat else []
    bought = _hint(objective, "bought")
    recency_hint = _hint(objective, "recency_days_gte") or _hint(objective, "recency_days_lte")
    recency = float(_hint(objective, "recency_days_gte") or 90)
    bought_within = float(_hint(objective, "recency_days_lte") or 60)
    first = objective.channels[0]

    recipes: dict[Goal, tuple[list[AudienceFilter], str, float, str, str]] = {
        Goal.WINBACK: (
            [
                AudienceFilter(feature="recency_days", op="gte", value=recency),
                AudienceFilter(feature="frequency", op="gte", value=1),
            ],
            f"Lapsed buyers (no order in {int(recency)} days)",
            72,
            "Remind them what they loved and give them a reason to come back",
            "Friendly last reminder of the offer before it ends",
        ),
        Goal.CART_RECOVERY: (
            [AudienceFilter(feature="cart_abandoned", op="eq", value=True)],
            "Abandoned a cart in the last 7 days",
            24,
            "Bring them back to the item left in their cart",
            "Short reminder that the cart item is waiting",
        ),
        Goal.CROSS_SELL: (
            [
                AudienceFilter(feature="frequency", op="gte", value=1),
                AudienceFilter(feature="recency_days", op="lte", value=bought_within),
            ],
            f"Recent buyers (ordered in the last {int(bought_within)} days)",
            96,
            "Suggest a product that goes with what they bought",
            "Follow up with a second suggestion",
        ),
        Goal.PRODUCT_LAUNCH: (
            [AudienceFilter(feature="views_30d", op="gte", value=1)],
            "Browsed in the last 30 days",
            72,
            "Introduce the new arrivals in their favourite category",
            "Remind them the new arrivals are in",
        ),
        Goal.PROMOTION: (
            [
                AudienceFilter(
                    feature="lifecycle_stage", op="in", value=["new", "active", "at_risk"]
                )
            ],
            "New, active and at-risk customers",
            48,
            "Announce the offer clearly, with what it applies to and when it ends",
            "Last-chance reminder before the offer ends",
        ),
        Goal.RETENTION: (
            [AudienceFilter(feature="lifecycle_stage", op="eq", value="at_risk")],
            "At-risk customers (last order 60–120 days ago)",
            72,
            "Thank them and show what is new for them",
            "A gentle second nudge",
        ),
    }
    filters, name, gap, brief1, brief2 = recipes[objective.goal]
    if objective.goal == Goal.PROMOTION and recency_hint:
        # "who bought in the last 30 days": when they last ordered replaces the stages
        lapsed = _hint(objective, "recency_days_gte") is not None
        days = float(recency_hint)
        filters = [
            AudienceFilter(feature="recency_days", op="gte" if lapsed else "lte", value=days)
        ]
        name = f"No order in {days:g} days" if lapsed else f"Ordered in the last {days:g} days"
    named = _named_filters(objective)
    if named and objective.goal != Goal.CART_RECOVERY:
        # the brief says who: its filters replace the recipe's (kept: a recency it gave)
        kept = [f for f in filters if f.feature == "recency_days"] if recency_hint else []
        filters = kept + named
        name = "; ".join(_describe(f) for f in filters)
    if bought:
        bought_filter = AudienceFilter(feature="bought", op="contains", value=bought)
        if objective.goal == Goal.PRODUCT_LAUNCH:  # past buyers replace recent browsers
            filters, name = [bought_filter], f"Bought a {bought} before"
        else:
            filters, name = [*filters, bought_filter], f"{name}, bought a {bought} before"
    gaps = [float(g) for g in _hints(objective, "delay_hours") if _is_number(g)] or [gap]
    follow_up = _follow_up_condition(objective)
    country = _hint(objective, "country")
    if country:
        filters = [*filters, AudienceFilter(feature="country", op="eq", value=country)]
        name = f"{name}, in {country}"
    audience = Audience(
        name=name + (f", favourite category {cat}" if cat else ""),
        description=f"Offline recipe for {objective.goal.value}.",
        filters=filters + cat_filter,
    )
    # one step per channel named and per delay given (at least a follow-up, at most four)
    count = min(4, max(2, len(objective.channels), len(gaps) + 1))
    journey = [
        JourneyStep(id="s1", channel=first, delay_hours=0, condition="always", content_brief=brief1)
    ]
    at = 0.0
    said_channels = _hints(objective, "step_channel")
    for i in range(1, count):
        at += gaps[min(i - 1, len(gaps) - 1)]
        said = said_channels[i - 1] if i - 1 < len(said_channels) else "-"
        # the channel said beside the delay; not the step before's again ("SMS after 2 hours"
        # delays that step): then the channels in the order named
        channel = next(
            (c for c in objective.channels if c.value == said and c != journey[-1].channel),
            objective.channels[min(i, len(objective.channels) - 1)],
        )
        journey.append(
            JourneyStep(
                id=f"s{i + 1}",
                channel=channel,
                delay_hours=at,
                condition=follow_up,
                content_brief=brief2 if i < count - 1 or count == 2 else _LAST_BRIEF,
            )
        )
    later = ", ".join(f"{s.channel.value} at {s.delay_hours:g} h" for s in journey[1:])
    return PlanDraft(
        audiences=[audience],
        journey=journey,
        send_hour_local=10,
        rationale=(
            f"Recipe for {objective.goal.value}: one audience, a first message on "
            f"{first.value}, then {later} only for people who have not "
            f"{follow_up.removeprefix('not_')}; a randomized holdout measures the lift."
        ),
    )


_LAST_BRIEF = "A short last note, different from the earlier ones; no new claims"
"""Content brief of the last step of a journey of three or more."""


def _is_number(value: str) -> bool:
    return value.replace(".", "", 1).isdigit()


_NAMED_HINTS: tuple[tuple[str, str, str], ...] = (
    ("stage", "lifecycle_stage", "eq"),
    ("monetary_gt", "monetary", "gt"),
    ("monetary_gte", "monetary", "gte"),
    ("monetary_lt", "monetary", "lt"),
    ("frequency_gt", "frequency", "gt"),
    ("frequency_gte", "frequency", "gte"),
    ("frequency_eq", "frequency", "eq"),
    ("opens_eq", "opens", "eq"),
    ("days_since_open_gte", "days_since_open", "gte"),
)
"""Audience hints that name who the campaign is for: hint key, feature, operator."""


def _named_filters(objective: Objective) -> list[AudienceFilter]:
    """Filters for the audience the brief itself described (stage, spend, opens)."""
    out: list[AudienceFilter] = []
    for key, feature, op in _NAMED_HINTS:
        value = _hint(objective, key)
        if value is not None:
            out.append(
                AudienceFilter.model_validate({"feature": feature, "op": op, "value": value})
            )
    return out


def _describe(f: AudienceFilter) -> str:
    """A filter in words for an audience name (`monetary gt 200`)."""
    return f"{f.feature.replace('_', ' ')} {f.op} {f.value}"


def _follow_up_condition(objective: Objective) -> Literal["not_converted", "not_clicked"]:
    """`not_clicked` when the brief said so, else `not_converted`."""
    return "not_clicked" if _hint(objective, "condition") == "not_clicked" else "not_converted"


def _validate_plan(objective: Objective, draft: PlanDraft) -> Plan:
    if objective.trigger is not None and objective.recurrence is not None:
        raise PlanError(
            "A campaign either runs on a schedule (every Monday…) or lets people in as events "
            "arrive (whenever someone…), not both: choose one."
        )
    allowed = set(objective.channels)
    steps = [s for s in draft.journey if s.channel in allowed]
    if not steps:
        raise PlanError(
            "The drafted journey uses none of the channels the brief allows "
            f"({', '.join(c.value for c in objective.channels)}); revise the brief's channels."
        )
    seen: set[str] = set()
    fixed: list[JourneyStep] = []
    for i, step in enumerate(sorted(steps, key=lambda s: s.delay_hours), start=1):
        sid = step.id if step.id and step.id not in seen else f"s{i}"
        seen.add(sid)
        fixed.append(step.model_copy(update={"id": sid}))
    audiences = draft.audiences
    recent = _hint(objective, "exclude_bought_days") or ""
    if _is_number(recent):  # a change request, whatever the engine drafted
        days = float(recent)
        leave_out = AudienceFilter(feature="recency_days", op="lte", value=days)
        audiences = [
            a.model_copy(
                update={
                    "name": f"{a.name}, not who ordered in the last {days:g} days",
                    "exclusions": [*a.exclusions, leave_out],
                }
            )
            for a in audiences
        ]
    holdout = _hint(objective, "holdout")
    fraction = DEFAULT_HOLDOUT if holdout is None else min(max(float(holdout), 0.05), 0.5)
    return Plan(
        objective=objective,
        audiences=audiences,
        holdout_fraction=fraction,
        journey=fixed,
        send_hour_local=(
            objective.recurrence.hour_local if objective.recurrence else draft.send_hour_local
        ),
        rationale=draft.rationale,
    )


def start_time(objective: Objective, now: datetime) -> datetime:
    """When the journey starts: the objective's start if it is in the future, else now."""
    return objective.start if objective.start and objective.start > now else now
