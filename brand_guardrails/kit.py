"""The brand kit: a brand's voice, rules, thresholds and approved copy, loaded from YAML.

`load_brand_kit` reports every problem with the file name, the field path and the YAML line,
so a brand owner can fix the file without reading Python.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jinja2 import Environment, TemplateSyntaxError, meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.models import Channel, Goal, TrackingPolicy
from tools.delivery.channels.html import EmailDesign

TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "first_name",
        "brand_name",
        "product_name",
        "product_url",
        "category",
        "offer_text",
        "code",
        "expires",
        "shop_url",
        "greeting",
    }
)
"""The only variables a copy-bank template may use (`first_name` may be empty)."""

OfferKind = Literal["percent_off", "amount_off", "free_shipping", "gift"]
Angle = Literal["urgency", "value", "social_proof", "new_arrivals", "personal"]
Stage = Literal["first", "reminder", "last_chance"]
"""Where a message sits in a journey: the first message, a reminder to people who did not act
on an earlier one, or the last message of a longer journey (last-chance framing)."""

_JINJA = Environment(autoescape=False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BrandKitError(Exception):
    """A brand kit file that cannot be read or does not validate; the message says where."""


class Voice(_Model):
    """How the brand sounds."""

    description: str
    """One or two sentences a writer can follow."""
    tone: list[str] = Field(default_factory=list)
    """Tone words, e.g. `warm`, `practical`."""
    prefer: list[str] = Field(default_factory=list)
    """Vocabulary the brand likes to use."""
    avoid: list[str] = Field(default_factory=list)
    """Words the brand avoids (a warning, not a block)."""
    reading_grade_max: float | None = Field(default=None, ge=1, le=20)
    """Highest reading grade of the copy (footer excluded): Flesch-Kincaid for English, the
    Wiener Sachtextformel for German, other languages are not graded (`checks.readability`);
    None turns the check off."""
    caps_ratio_max: float = Field(default=0.3, gt=0, le=1)
    """Largest share of capital letters in a part with 20 or more letters before it shouts."""
    max_exclamations: int = Field(default=2, ge=0)
    """Most exclamation marks in one part (runs like `!!` always shout)."""


class ClaimPattern(_Model):
    """A kind of unsubstantiated claim, as a case-insensitive regular expression."""

    label: str
    """Short name shown in findings, e.g. `guarantee`."""
    pattern: str
    """Regular expression matched against lower-cased, normalised copy."""
    fix: str = "Remove the claim or replace it with a specific, substantiated fact."
    """Suggested rewrite."""
    skip_names: bool = False
    """When true, a match written as a name — capitalised inside a sentence that is not in
    title case (`our designer Jamie Heal`) — is not this claim (the surname Heal, a place)."""
    object_denies: bool = False
    """When true, the claim is a verb a negative object denies ("heals nothing", "heilt
    nichts", "ne guérit rien"); otherwise a negative word after it is the claim's content
    ("guaranteed nothing gets in", "garantiert nie wieder nass")."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v


class ClaimsPolicy(_Model):
    """Claims the brand may not make without substantiation; each one blocks."""

    blocked: list[ClaimPattern] = Field(default_factory=list)
    """Claim patterns that block a message."""
    allowed_phrases: list[str] = Field(default_factory=list)
    """Substantiated phrases that contain a blocked word but are fine (e.g. a named warranty)."""


class OfferDisclaimer(_Model):
    """Text that must accompany one type of offer."""

    text: str
    """Full disclaimer for e-mail and push."""
    short: str
    """Short form for SMS."""


class Disclaimers(_Model):
    """Required disclaimer text, by channel and by offer type."""

    by_channel: dict[Channel, str] = Field(default_factory=dict)
    """Text every message on that channel must carry (the footer adds it)."""
    by_offer: dict[OfferKind, OfferDisclaimer] = Field(default_factory=dict)
    """Text a message with that type of offer must carry (the footer adds it)."""


class Contact(_Model):
    """The brand's own contact points; copy may carry them, they are never personal data."""

    phones: list[str] = Field(default_factory=list)
    """Phone numbers (customer service, repair line), in any notation; compared by digits."""
    emails: list[str] = Field(default_factory=list)
    """Addresses besides the sender's (support desk, press), on any domain."""
    addresses: list[str] = Field(default_factory=list)
    """Street addresses besides `postal_address` (stores, returns centre)."""


class Sender(_Model):
    """Who e-mail comes from."""

    from_name: str
    """Display name in From."""
    from_email: str
    """Address in From."""
    reply_to: str
    """Reply-To address that a person reads."""


class EmojiPolicy(_Model):
    """Where emoji are allowed and how many."""

    allowed_channels: list[Channel] = Field(default_factory=list)
    """Channels on which emoji may appear."""
    max_per_message: int = Field(default=1, ge=0)
    """At most this many emoji in one message."""


class EmailRules(_Model):
    """E-mail channel rules."""

    subject_max_length: int = Field(default=60, ge=10)
    """Longest subject line in characters."""
    body_max_words: int | None = Field(default=None, ge=10)
    """Most words in the body before the footer (a warning); None for no limit."""
    ad_disclosure: str | None = None
    """Text that identifies the e-mail as an advertisement (CAN-SPAM §7704(a)(5)(A)(i)); when
    set the footer adds it and every e-mail must carry it. Leave it unset only when every
    recipient gave affirmative consent, which the law exempts."""


class PushRules(_Model):
    """Push notification rules."""

    title_max_length: int = Field(default=50, ge=5)
    """Longest title in characters."""
    body_max_length: int = Field(default=180, ge=10)
    """Longest body in characters."""


class SpamPolicy(_Model):
    """The spam-language score: weighted trigger phrases, summed over a message."""

    words_path: Path | None = None
    """A folder of `spam_words_weight<N>.txt` files (one phrase a line, weight N) or one file
    of `phrase<TAB>weight` lines. Relative paths are read from the kit's folder. None (the
    default) skips the check: the list is data the brand supplies."""
    warn_score: float = Field(default=12, gt=0)
    """Score at which a message gets a `spam.score` warning."""
    block_score: float | None = Field(default=None, gt=0)
    """Score at which it is blocked; None never blocks on the score alone."""


class SmsRules(_Model):
    """SMS channel rules."""

    max_segments: int = Field(default=2, ge=1)
    """Most segments one SMS may take (GSM-7: 160/153 chars, UCS-2: 70/67)."""
    brand_prefix_required: bool = True
    """Every SMS starts with the brand name, e.g. `Northwind: `."""
    brand_prefix: str | None = None
    """Prefix text; defaults to the brand name followed by a colon."""
    opt_out_text: str = "Reply STOP to opt out"
    """The opt-out instruction every SMS ends with."""


class ChannelRules(_Model):
    """Per-channel rules."""

    email: EmailRules = Field(default_factory=EmailRules)
    """E-mail rules."""
    sms: SmsRules = Field(default_factory=SmsRules)
    """SMS rules."""
    push: PushRules = Field(default_factory=PushRules)
    """Push rules."""


class QuietHours(_Model):
    """Local hours in which nothing is sent (wraps midnight when start > end)."""

    start: int = Field(ge=0, le=23)
    """First quiet hour, e.g. 21."""
    end: int = Field(ge=0, le=23)
    """First hour sending may resume, e.g. 8."""

    def is_quiet(self, hour: int) -> bool:
        """True when a local hour falls inside the quiet window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end


class FrequencyCap(_Model):
    """At most `max_messages` per person on a channel in any `days` rolling days."""

    max_messages: int = Field(ge=0)
    """Message limit."""
    days: int = Field(ge=1)
    """Rolling window in days."""


class LocalizedCopy(_Model):
    """A template's subject and body in another language (same variables)."""

    subject: str | None = None
    """Subject template; None for SMS."""
    body: str
    """Body template, without footer."""


class FooterText(_Model):
    """The words of the e-mail footer the system writes (one set per language)."""

    signed_up: str = (
        "You are receiving this e-mail because you signed up for news from {brand} at {site}."
    )
    """Why the person gets the e-mail; `{brand}` and `{site}` are filled in."""
    sent_by: str = "Sent by"
    """Precedes the sender's name and address."""
    unsubscribe: str = "Unsubscribe"
    """Label of the unsubscribe link."""


class LocaleText(_Model):
    """Everything the system writes itself, in one language: footer, disclaimers, the SMS
    opt-out, offer words and greetings. Copy-bank templates carry their own `translations`."""

    footer: FooterText
    """E-mail footer wording."""
    ad_disclosure: str | None = None
    """The e-mail ad disclosure in this language (required when the kit sets one)."""
    disclaimers: Disclaimers
    """Disclaimers in this language (every channel and offer kind the kit has)."""
    sms_opt_out: str | None = None
    """The SMS opt-out instruction in this language (keep the keyword, e.g. STOP)."""
    percent_off: str = "{percent}% off"
    """How a percentage discount reads; `{percent}` is filled in."""
    amount_off: str = "{amount} off"
    """How a fixed amount off reads; `{amount}` is the money, written as `money` says."""
    min_order: str = " orders over {minimum}"
    """Appended to a discount with a minimum order (`$10 off orders over $50`)."""
    money: str = "{symbol}{amount}"
    """How an amount of money is written: `{symbol}{amount}` ($10) or `{amount} {symbol}`
    (10 €); `{symbol}` is the currency's sign, or its ISO code when it has none here."""
    free_shipping: str = "free shipping"
    """How free shipping reads."""
    gift: str = "a free gift with your order"
    """How a gift with purchase reads."""
    greetings: tuple[str, str, str] = ("Good morning", "Good afternoon", "Good evening")
    """Morning, afternoon and evening greetings (local send time)."""
    fallback_product: str = "our latest gear"
    """Product wording when nobody's product is known."""
    categories: dict[str, str] = Field(default_factory=dict)
    """Category names in this language (`footwear` → `Schuhe`); missing ones stay as they are."""
    banned_phrases: list[str] = Field(default_factory=list)
    """Banned phrases in this language (`jetzt zuschlagen`, `今すぐクリック`), blocked in
    messages in it on top of the kit's own list (English pressure words stay banned too)."""
    spam_words_path: Path | None = None
    """The spam phrase list for this language, in the format of `spam.words_path` (relative
    paths are read from the kit's folder); None: messages in it are scored on the kit's list."""


class CopyTemplate(_Model):
    """An approved copy-bank template (Jinja2); the system appends the compliance footer."""

    goal: Goal
    """Campaign goal it serves."""
    channel: Channel
    """Channel it is written for."""
    angle: Angle
    """Creative angle."""
    stage: Stage = "first"
    """Journey position it is written for: `first`, `reminder` or `last_chance`."""
    subject: str | None = None
    """Subject template (e-mail, push); None for SMS."""
    body: str
    """Body template, without footer."""
    translations: dict[str, LocalizedCopy] = Field(default_factory=dict)
    """The same message in other languages, by language code (`de`, `fr`, `ja`, `pt`)."""

    @model_validator(mode="after")
    def _variables_allowed(self) -> CopyTemplate:
        sources = [("subject", self.subject), ("body", self.body)]
        for lang, t in self.translations.items():
            if (t.subject is None) != (self.subject is None):
                raise ValueError(
                    f"translations.{lang}: subject must be given exactly when the template has one"
                )
            sources += [
                (f"translations.{lang}.subject", t.subject),
                (f"translations.{lang}.body", t.body),
            ]
        for part, source in sources:
            if source is None:
                continue
            try:
                names = meta.find_undeclared_variables(_JINJA.parse(source))
            except TemplateSyntaxError as exc:
                raise ValueError(f"{part} is not valid Jinja2: {exc.message}") from exc
            unknown = sorted(names - TEMPLATE_VARIABLES)
            if unknown:
                raise ValueError(
                    f"{part} uses unknown variable(s) {', '.join(unknown)}; allowed: "
                    + ", ".join(sorted(TEMPLATE_VARIABLES))
                )
        if self.channel == Channel.EMAIL and not self.subject:
            raise ValueError("e-mail templates need a subject")
        return self


class ApprovalPolicy(_Model):
    """Thresholds above which a human must approve."""

    max_auto_discount_percent: float = Field(default=15, ge=0, le=100)
    """Largest discount the agents may launch without a human."""
    max_auto_audience_size: int = Field(default=2000, ge=0)
    """Largest audience the agents may launch without a human."""
    max_auto_allocation_shift: float = Field(default=0.3, ge=0, le=1)
    """Largest change of one arm's traffic share the optimizer may apply alone."""
    max_auto_revision_risk: float = Field(default=0.3, ge=0, le=1)
    """Largest revision risk score the optimizer may apply alone."""
    launch_requires_approval: bool = True
    """Every launch waits for a human when true."""
    four_eyes: bool = True
    """Nobody approves or rejects anything on a campaign they submitted themselves."""


class BrandKit(_Model):
    """Everything the agents must know about a brand, as editable data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$")
    """Stable brand id (lower case, digits, `-`, `_`)."""
    name: str
    """Brand name as customers know it."""
    version: str
    """Version of this kit, chosen by the brand owner."""
    site_url: str
    """Shop URL, e.g. `https://northwind.example`."""
    currency: str = "USD"
    """ISO 4217 currency code."""
    categories: list[str] = Field(default_factory=list)
    """Product categories the brand sells."""
    voice: Voice
    """How the brand sounds."""
    banned_phrases: list[str] = Field(default_factory=list)
    """Phrases that must never appear (matched through case, look-alikes and spacing tricks)."""
    competitor_names: list[str] = Field(default_factory=list)
    """Competitors that copy must not name."""
    claims: ClaimsPolicy = Field(default_factory=ClaimsPolicy)
    """Unsubstantiated claims that block."""
    disclaimers: Disclaimers = Field(default_factory=Disclaimers)
    """Required disclaimer text."""
    sender: Sender
    """E-mail sender identity."""
    postal_address: str
    """Physical postal address (CAN-SPAM)."""
    contact: Contact = Field(default_factory=Contact)
    """The brand's other contact points (phones, support e-mails, store addresses)."""
    allowed_link_domains: list[str]
    """Domains links may point to (sub-domains included)."""
    emoji_policy: EmojiPolicy = Field(default_factory=EmojiPolicy)
    """Emoji rules."""
    channel_rules: ChannelRules = Field(default_factory=ChannelRules)
    """Per-channel rules."""
    sensitive_topics: list[str] = Field(default_factory=list)
    """Topics copy must not touch; a trailing `*` matches any word ending (`pregnan*`)."""
    private_fields: list[str] = Field(default_factory=list)
    """Customer trait names that must never reach copy."""
    default_timezone: str = "UTC"
    """IANA timezone for people whose timezone is unknown."""
    quiet_hours: QuietHours = Field(default_factory=lambda: QuietHours(start=21, end=8))
    """Local hours with no sends."""
    frequency_caps: dict[Channel, FrequencyCap] = Field(default_factory=dict)
    """Per-channel message caps over rolling days."""
    measurement_window_days: float = Field(default=7, ge=0)
    """Days after a campaign's last send during which outcomes still count for it; when they
    have passed the campaign completes and its final report is stored."""
    copy_bank: list[CopyTemplate] = Field(default_factory=list)
    """Approved templates used by the offline engine."""
    email_design: EmailDesign = Field(default_factory=EmailDesign)
    """The e-mail look (colours, logo, font) the HTML part is built in."""
    default_locale: str = "en"
    """Language of the kit's own text and of people whose language has no translation."""
    footer: FooterText = Field(default_factory=FooterText)
    """E-mail footer wording in the default language."""
    locales: dict[str, LocaleText] = Field(default_factory=dict)
    """The system's own text in other languages, by language code; a person whose language is
    here gets copy (when the template has a translation), footer and disclaimers in it."""
    approval_policy: ApprovalPolicy = Field(default_factory=ApprovalPolicy)
    """When a human must approve."""
    spam: SpamPolicy = Field(default_factory=SpamPolicy)
    """Spam-language score settings."""
    tracking: TrackingPolicy = Field(default_factory=TrackingPolicy)
    """Click and open tracking, attribution and measurement windows."""

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {v!r}") from exc
        return v

    @field_validator("allowed_link_domains")
    @classmethod
    def _domains_lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().lstrip(".") for d in v if d.strip()]

    @model_validator(mode="after")
    def _locales_complete(self) -> BrandKit:
        for lang, text in self.locales.items():
            where = f"locales.{lang}"
            if self.channel_rules.email.ad_disclosure and not text.ad_disclosure:
                raise ValueError(f"{where}.ad_disclosure: required (the kit sets one in English)")
            missing = [
                *(
                    f"by_channel.{c.value}"
                    for c in self.disclaimers.by_channel
                    if c not in text.disclaimers.by_channel
                ),
                *(
                    f"by_offer.{k}"
                    for k in self.disclaimers.by_offer
                    if k not in text.disclaimers.by_offer
                ),
            ]
            if missing:
                raise ValueError(
                    f"{where}.disclaimers: missing {', '.join(missing)} (every disclaimer of "
                    "the default language needs a translation)"
                )
        return self

    def language_of(self, locale: str | None) -> str:
        """The kit language for a person's locale (`de-AT` → `de`); the default when the kit
        has no text in that language."""
        lang = (locale or "").replace("_", "-").split("-", 1)[0].strip().lower()
        return lang if lang in self.locales else self.default_locale

    def fingerprint(self) -> str:
        """A hash of the kit's content, for versioning and caches."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


# --- loading -----------------------------------------------------------------------------


def load_brand_kit(path: Path) -> BrandKit:
    """Read and validate a brand kit YAML file; errors name file, field path and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrandKitError(f"{path}: cannot read brand kit: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise BrandKitError(f"{path.name}:{line}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise BrandKitError(f"{path.name}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BrandKitError(f"{path.name}:1: the brand kit must be a mapping of fields")
    try:
        kit = BrandKit.model_validate(data)
    except ValidationError as exc:
        lines = _line_map(root)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            dotted = ".".join(str(p) for p in loc) or "(root)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            problems.append(f"{path.name}:{_line_for(lines, loc)}: {dotted}: {msg}")
        raise BrandKitError("\n".join(problems)) from exc
    words = kit.spam.words_path
    if words is not None and not words.is_absolute():
        spam = kit.spam.model_copy(update={"words_path": (path.parent / words).resolve()})
        kit = kit.model_copy(update={"spam": spam})
    local = {
        lang: text.model_copy(update={"spam_words_path": (path.parent / w).resolve()})
        for lang, text in kit.locales.items()
        if (w := text.spam_words_path) is not None and not w.is_absolute()
    }
    if local:
        kit = kit.model_copy(update={"locales": {**kit.locales, **local}})
    return kit


def _line_map(root: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each field path in the YAML tree to its 1-based line (keys point at the key)."""
    out: dict[tuple[Any, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                out[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return out


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
    return 1
