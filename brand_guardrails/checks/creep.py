"""The creep guard: what a message says about its reader.

A sensitive trait (health, pregnancy, children, religion, sexuality, ethnicity, finances,
precise location, age) blocks when the copy attributes or insinuates it to the recipient, and
not when it only mentions the topic ("new research on cancer therapy", "the Great
Depression", "our Ramadan collection"). Attribution is read from the wording around a term,
in English, German, French and Spanish:

- a possessive: "your pregnancy", "Ihre Schulden", "votre diabète", "tu embarazo";
- the reader as subject: "you're expecting", "you have diabetes", "du bist schwanger";
- a label for the reader: "as a devout Muslim, you…", "seniors like you", "Hey mum-to-be";
- a question put to the reader with no other subject: "Expecting a baby?", "Struggling with
  debt?", "Recently diagnosed?", "¿Embarazada?";
- specifics about the reader's family, place or age: "your 12-year-old daughter Emma",
  "near your home", "you're turning 60", "your 40th birthday".

Deterministic and explainable; each finding names its category and the words that attribute
it. Measured per category in `autocmo eval` on `evals/datasets/creep.jsonl` (written on this
project alongside these rules: optimistic figures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from brand_guardrails.checks._phrases import LiteralGate
from brand_guardrails.checks._text import fold, original_span
from brand_guardrails.checks.creep_model import CreepModel, cue_span, is_candidate, shipped_model

CATEGORIES = (
    "health",
    "pregnancy",
    "children",
    "religion",
    "sexuality",
    "ethnicity",
    "finances",
    "location",
    "age",
)
"""The sensitive categories, in report order."""

# Terms per category, as regexes over folded text (lower case, accents removed). A term
# alone never blocks: it needs attribution to the reader (see `_attributed`).
_TERMS: dict[str, str] = {
    "health": (
        r"diabet\w*|(?<!zodiac )cancer(?:s|ous)?|chemo\w*|tumou?rs?|"
        r"(?<!economic )(?<!great )(?<!tropical )(?<!market )depress(?:ion|ed|ive)|"
        r"anxiety(?: disorder)?|panic attacks?|mental (?:health|illness)|adhd|autis\w*|asthma\w*|"
        r"arthritis|migraines?|"
        r"(?:chronic|mental|terminal|back|joint|knee) (?:pain|illness|disease)|"
        r"illness(?:es)?|diseases?|(?:medical|health|chronic|heart|skin) conditions?|"
        r"diagnos(?:is|es|ed|e)\b|hiv|alzheimer\w*|dementia|disabilit\w*|"
        r"eating disorders?|anorexi\w*|bulimi\w*|obes\w*|overweight|weight loss|lose weight|"
        r"infertil\w*|fertility|ivf|menopaus\w*|erectile|incontinen\w*|acne|psoriasis|eczema|"
        r"medications?|insulin|addict\w*|alcoholi\w*|sobriety|rehab|"
        r"krebs|krankheit\w*|diagnose|depression(?:en)?|ubergewicht|"
        r"maladie\w*|enfermedad\w*|diagnostico|depresion|sobrepeso|"
        r"blood pressure|hypertension|cholesterol|heart (?:attack|disease|condition)|strokes?|"
        r"surgery|recover(?:y|ing) from|injur(?:y|ies)|allerg\w*|c(?:o)?eliac|"
        r"(?:gluten|lactose) intoleran\w*|ibs|crohn\w*|colitis|multiple sclerosis|"
        r"parkinson\w*|epilep\w*|seizures?|fibromyalgia|lupus|thyroid|hearing (?:loss|aids?)|"
        r"wheelchair|(?:foot|neck|hip) pain|(?<!retail )therap(?:y|ist)|hospital\w*|"
        r"ptsd|ocd|bipolar|schizophren\w*|insomnia|sleep apnea|hair loss"
    ),
    "pregnancy": (
        r"pregnan\w*|expecting(?: a baby| twins| your first| a little one| a child|(?=\s*[.!?]))|"
        r"(?:mum|mom|mother|mama|mommy)s?[- ]to[- ]be|baby bump|baby due|trimester|prenatal|"
        r"expectant|maternity|baby on the way|miscarriage|"
        r"schwanger\w*|werdende mutter|enceinte|grossesse|future maman|"
        r"embarazad\w*|embarazo|futura mama|premama|nursery|"
        r"(?:erwarten|erwartest) (?:ein|ihr) baby|esper\w* (?:un|tu|su) bebe|attend\w* un bebe"
    ),
    "religion": (
        r"muslims?|islam\w*|christians?|catholics?|protestants?|jew(?:s|ish)?|judaism|"
        r"hindus?|buddhists?|sikhs?|mormons?|devout|religio\w*|atheists?|"
        r"ramadan|your fast|eid|passover|hanukk?ah|chanukah|diwali|yom kippur|kosher|halal|"
        r"church|mosque|synagogue|your faith|keep kosher|keep halal|prayers?|sabbath|shabbat|"
        r"(?:sunday|attend\w*) mass|(?:observ\w*|during|for|this) lent|"
        r"fasting (?:for|during|this) (?:ramadan|lent|yom kippur)|bible|quran|koran|torah|"
        r"muslim\w*|christlich\w*|judisch\w*|glaubig\w*|katholisch\w*|"
        r"musulman\w*|chretien\w*|juif|juive|croyant\w*|pratiquant\w*|"
        r"musulman\w*|cristian\w*|judi[oa]s?|creyente\w*|catolic\w*"
    ),
    "sexuality": (
        r"gay|lesbians?|bisexual\w*|queer|lgbt\w*\+?|transgender|sexual orientation|"
        r"your coming[- ]out|homosexual\w*|schwul\w*|lesbisch\w*|lesbienne\w*|lesbiana\w*|"
        r"out and proud|same[- ]sex"
    ),
    "ethnicity": (
        r"ethnic\w*|(?:black|white|asian|latina|latino|hispanic|arab|indigenous|native) "
        r"(?:woman|women|man|men|person|people|girl|guy|community|heritage|roots|skin)|"
        r"latina|latino|hispanic|african[- ]american|immigra\w*|heritage|ancestry|"
        r"first[- ]generation|diaspora|"
        r"migrationshintergrund|herkunft|origine\w*|etnia|inmigrante\w*"
    ),
    "age": (
        r"turn(?:ing|ed|s)? \d{2}|retired|retirement|pension\w*|over[- ]\d{2}s?|seniors?|"
        r"elderly|midlife|empty[- ]nest\w*|rentner\w*|retraite|jubilad[oa]s?"
    ),
    "finances": (
        r"debts?|in the red|overdra\w*|bankrupt\w*|insolven\w*|credit score|bad credit|"
        r"payday loans?|(?:financially|money) (?:struggling|troubles?|worries)|"
        r"struggling financially|broke|behind on (?:rent|bills|payments|your \w+)|"
        r"foreclos\w*|evict\w*|low income|unemploy\w*|jobless|laid off|your income|"
        r"your salary|loan (?:was )?(?:denied|rejected)|repossess\w*|can'?t (?:pay|afford)|"
        r"schulden|verschuldet|pleite|schufa|arbeitslos\w*|"
        r"dettes?|endette\w*|surendettement|fauche\w*|a decouvert|chomage|"
        r"deudas?|endeudad\w*|moros[oa]s?|quiebra|desemplead\w*|en paro|"
        r"short on (?:cash|money)|cash[- ]strapped|tight budget|money(?:'s| is) tight|"
        r"paycheck to paycheck|bills|rent|loans?|mortgage|"
        r"knapp bei kasse|geldsorgen|fins? de mois|llegar a fin de mes"
    ),
}

_POSSESSIVE = r"(?:your|ur|yours|dein\w*|ihr(?:e|em|en|er|es)?|ta|tes|votre|vos|tu|tus|su|sus)"
_SUBJECT = (
    r"(?:you(?:'re|'ve| are| were| have| had| may be| might be| could be| feel| live| struggle"
    r"| suffer| deal| cope| just found out| found out| recently)"
    r"|(?:are|were|have) you|u r|du bist|du hast|bist du|hast du|sie sind|sie haben|sind sie"
    r"|haben sie|tu es|tu as|es-tu|as-tu|vous etes|vous avez|etes-vous|avez-vous|estas|eres"
    r"|tienes|usted esta|usted tiene|esta usted|tiene usted)"
)
_BEFORE_POSSESSIVE = re.compile(rf"\b{_POSSESSIVE}\s+(?:[\w'-]+\s+){{0,3}}$")
_BEFORE_SUBJECT = re.compile(rf"\b{_SUBJECT}\b(?:\s+[\w'-]+){{0,4}}\s+$")
_BEFORE_YOU = re.compile(r"\b(?:you|u|du|tu|vous)\s+$")
_BEFORE_AS_A = re.compile(r"\b(?:as an?|als|en tant que|como)\s+(?:[\w'-]+\s+){0,2}$")
_BEFORE_CONDITION = re.compile(
    r"\b(?:living|struggling|dealing|coping|diagnosed|suffering|battling)\s+with\s+"
    r"(?:[\w'-]+\s+){0,2}$"
)
_BEFORE_VOCATIVE = re.compile(
    r"(?:^|[,!:]\s*)(?:hi|hey|hello|dear|congrats|congratulations|calling all|hallo|liebe[rs]?"
    r"|bonjour|chere?s?|hola|querid[ao]s?)[\s,]+(?:[\w'-]+\s+){0,2}$"
)
_VOCATIVE_END = re.compile(r"(?:\s+[\w'-]+){0,2}\s*(?:[,!:.]|$)")
_AFTER_LIKE_YOU = re.compile(
    r"^[\w'+-]*(?:\s+[\w'-]+){0,2}\s+(?:like you|such as yourself|wie (?:du|sie)"
    r"|comme (?:toi|vous)|como (?:tu|usted))"
)
_READER = re.compile(
    r"\b(?:you|your|yours|yourself|u|ur|du|dich|dir|dein\w*|sie|ihnen|ihr\w*|tu|toi|ton|ta|tes"
    r"|vous|votre|vos|te|ti|tus|usted|contigo)\b|\bt'"
)
_THIRD_PERSON = re.compile(
    r"\b(?:he|she|they|it|people|someone|anyone|many|most|who|er|man|ils|elles|il|elle"
    r"|ellos|ellas|alguien)\b"
)
_WH_START = re.compile(
    r"^\W*(?:what|how|why|when|where|which|who|is|are|does|do|can|was|wie|was|warum|wann"
    r"|qu\w*|comment|pourquoi|que|como|cual|cuando|donde|por que)\b"
)
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")
_DID_YOU_KNOW = re.compile(
    r"\b(?:did you know|you can read|you may have (?:heard|read)|"
    r"wussten sie|saviez-vous|sabias)\b"
)

_NUM = (
    r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
    r"fourteen|fifteen|sixteen|seventeen)"
)
_KIN = r"(?:daughter|son|kid|child|boy|girl|toddler|baby|teen|teenager|little one|twins)"
# Patterns that attribute by themselves (run on folded text; names need the original case).
_SPECIFIC: dict[str, str] = {
    "children": (
        rf"\b{_POSSESSIVE}\s+(?:little\s+|teenage\s+|youngest\s+|oldest\s+)?{_NUM}[- ]?"
        rf"(?:year|yr)s?[- ]?olds?\b"
        rf"|\b{_POSSESSIVE}\s+(?:little\s+|teenage\s+)?(?:{_KIN}|youngest|oldest|eldest)(?:'s)?,?\s+"
        rf"(?:(?-i:[A-Z][a-z]+)\b|{_NUM}(?:st|nd|rd|th)\s+birthday|(?:is|turns)\s+{_NUM}\b"
        rf"|in (?:grade|year) \d+)"
        rf"|\b{_POSSESSIVE}\s+(?:little one|daughter|son|boy|girl|toddler|teen|twins)(?:'s)?\s+"
        rf"(?:[\w'-]+\s+){{0,3}}(?:school|kindergarten|nursery|daycare|class|birthday|first day)\b"
        rf"|\b{_KIN}\s+(?-i:[A-Z][a-z]+)\s+\(\d{{1,2}}\)"
        r"|\b(?:ihr\w*|dein\w*)\s+\d{1,2}-jahrig\w*\s+(?:tochter|sohn|kind)"
        r"|\b(?:ihr\w*|dein\w*)\s+(?:tochter|sohn)\s+(?-i:[A-Z][a-z]+)"
        r"|\b(?:votre|ton|ta)\s+(?:fille|fils|enfant)\s+(?:de\s+\d{1,2}\s+ans|(?-i:[A-Z][a-z]+))"
        r"|\b(?:tu|su)\s+(?:hija|hijo|nin[oa])\s+(?:de\s+\d{1,2}\s+anos|(?-i:[A-Z][a-z]+))"
        r"|\byou(?:'re| are)\s+(?:still\s+)?(?:under\s*(?:age|18|16)|a minor|underage)"
    ),
    "location": (
        r"\b(?:near|outside|around the corner from|close to|next to|down the street from|"
        r"opposite)\s+your\s+(?:home|house|flat|apartment|place|office|workplace|street|door"
        r"|front door)\b"
        r"|\byour\s+(?:(?:exact|current|precise|live|home)\s+)?(?:location|whereabouts|gps|"
        r"coordinates)\b|\byour\s+home\s+address\b"
        r"|\bwhere you (?:live|are right now|are now|work|sleep)\b"
        r"|\byou(?:'re| are)\s+(?:just\s+|only\s+)?\d+(?:[.,]\d+)?\s*(?:m|km|mi|miles?|meters?|"
        r"metres?|minutes?|blocks?|steps?)\s+(?:away\s+)?from\s+(?:us|our|the\s+(?:\w+\s+)?"
        r"(?:store|shop|branch|outlet|pop-up|cafe|gym|park|beach|harbour|station))\b"
        r"|\bwe (?:saw|spotted|noticed|see|can see|know) (?:that )?you(?:'re| are| were)?\s+"
        r"(?:at|in|near|on|walking|shopping)\b"
        r"|\byou live (?:on|at|in)\s+(?-i:[A-Z][a-z])"
        r"|\byou(?:'re| are)\s+(?:at|near)\s+(?-i:[A-Z][a-z])"
        r"|\byou\s+(?:walk|drive|pass|jog|run|cycle)s?\s+(?:past|by)\b"
        r"|\byour\s+(?:gym|school|office|workplace|hotel|home|house|flat|apartment)\s+(?:on|at|in)"
        r"\s+(?-i:[A-Z0-9])"
        r"|\b(?:ihre|deine)\s+(?:adresse|wohnadresse|strasse|standort)\b"
        r"|\b(?:neben|bei|nahe)\s+(?:ihrer|deiner)\s+(?:wohnung|haustur|adresse)"
        r"|\bwo (?:sie|du) (?:wohnen|wohnst)\b"
        r"|\b(?:votre|ton|ta)\s+(?:adresse|position|localisation|domicile)\b"
        r"|\bou (?:vous habitez|tu habites)\b"
        r"|\b(?:tu|su)\s+(?:direccion|ubicacion|domicilio)\b|\bcerca de (?:tu|su) casa\b"
        r"|\bdonde vives\b"
    ),
    "age": (
        r"\byou(?:'re| are)\s+(?:turning\s+|now\s+|almost\s+|over\s+|nearly\s+|finally\s+)?"
        r"(?:\d{2}|forty|fifty|sixty|seventy|eighty)\b(?!\s*(?:%|percent|minutes|m\b|km|miles))"
        r"|\b(?:now that|since) you(?:'re| are| turned)\s+(?:over\s+)?\d{2}\b"
        r"|\byou turn(?:ed|ing|s)?\s+\d{2}\b"
        r"|\byour\s+\d{2}(?:st|nd|rd|th)\s+birthday\b"
        r"|\bat your age\b|\byour age\b"
        r"|\b(?:seniors?|over[- ]\d{2}s?|retirees?|pensioners?|boomers?|older adults?)\s+"
        r"like you\b"
        r"|\bnot getting any younger\b|\bborn in (?:19|20)\d{2}\b"
        r"|\bin (?:ihrem|deinem) alter\b|\b(?:sie werden|du wirst)\s+\d{2}\b"
        r"|\b(?:ihr|dein)(?:em|en)?\s+\d{2}\.\s+geburtstag"
        r"|\ba (?:votre|ton) age\b|\b(?:vos|tes)\s+\d{2}\s+ans\b"
        r"|\ba (?:tu|su) edad\b|\b(?:tus|sus)\s+\d{2}\s+anos\b|\bcumples\s+\d{2}\b"
    ),
}

_TERM_RX = {c: re.compile(rf"(?<![\w-])(?:{p})(?!\w|-free)") for c, p in _TERMS.items()}
_SPECIFIC_RX = {c: re.compile(p, re.IGNORECASE) for c, p in _SPECIFIC.items()}


_GATE = LiteralGate(
    [(("term", c), p) for c, p in _TERMS.items()]
    + [(("specific", c), p.lower()) for c, p in _SPECIFIC.items()]
)
"""Which patterns can match a line, from the literals they need, found in one pass."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """One sensitive trait the copy attributes to its reader."""

    category: str
    """One of `CATEGORIES`, or `listed` for a topic from the brand kit."""
    span: str
    """The words that carry it."""
    how: str
    """How it is attributed, in words."""


class CreepGuard:
    """The built-in categories plus a kit's own sensitive topics (treated like terms)."""

    def __init__(self, listed: list[str] | None = None, *, model: bool = True) -> None:
        """Compile; `listed` are the kit's topics as regexes over folded text. A listed topic
        that itself names the reader (`your location`) attributes by itself. With `model`,
        lines the rules let through that are candidates go to the classifier
        (`creep_model.py`) when its weights are shipped."""
        self._model: CreepModel | None = shipped_model() if model else None
        self._listed_direct: re.Pattern[str] | None = None
        self._listed_terms: re.Pattern[str] | None = None
        direct = [p for p in listed or [] if _READER.search(p.replace("\\s+", " "))]
        terms = [p for p in listed or [] if p not in direct]
        if direct:
            self._listed_direct = re.compile(r"\b(?:" + "|".join(direct) + ")")
        if terms:
            self._listed_terms = re.compile(r"(?<![\w-])(?:" + "|".join(terms) + ")")

    def scan(self, text: str) -> list[Attribution]:
        """Every trait attributed to the reader in one line of copy."""
        folded = fold(text)
        found: list[tuple[int, int, int, Attribution]] = []  # (priority, start, end, it)
        may = _GATE.keys_in(folded)
        for cat, rx in _SPECIFIC_RX.items():
            if ("specific", cat) not in may:
                continue
            for source in (text,) if text.isascii() else (text, folded):
                for m in rx.finditer(source):
                    it = Attribution(cat, m.group(), "names a specific fact about the reader")
                    found.append((0, m.start(), m.end(), it))
        if self._listed_direct is not None:
            for m in self._listed_direct.finditer(folded):
                span = original_span(text, folded, m.start(), m.end())
                it = Attribution("listed", span, "a topic the brand kit forbids")
                found.append((2, m.start(), m.end(), it))
        terms = [(c, rx) for c, rx in _TERM_RX.items() if ("term", c) in may]
        if self._listed_terms is not None and self._listed_terms.search(folded):
            terms.append(("listed", self._listed_terms))
        if terms:
            self._scan_terms(text, folded, terms, found)
        if not found and self._model is not None and is_candidate(folded):
            ((cat, p),) = self._model.predict([text])
            if p >= self._model.threshold:
                a, b = cue_span(folded, cat)
                span = original_span(text, folded, a, b).strip()
                how = f"read as said of the reader by the classifier (p={p:.2f})"
                found.append((1, a, b, Attribution(cat, span, how)))
        return _dedupe(found)

    @staticmethod
    def _scan_terms(
        text: str,
        folded: str,
        terms: list[tuple[str, re.Pattern[str]]],
        found: list[tuple[int, int, int, Attribution]],
    ) -> None:
        """Terms attributed to the reader, sentence by sentence."""
        for sm in _SENTENCE.finditer(folded):
            sentence = sm.group()
            hits = [(c, m) for c, rx in terms for m in rx.finditer(sentence)]
            for cat, m in hits:
                how = _attributed(sentence, m.start(), m.end())
                if how:
                    a, b = sm.start() + m.start(), sm.start() + m.end()
                    it = Attribution(cat, original_span(text, folded, a, b), how)
                    found.append((2 if cat == "listed" else 1, a, b, it))


def _attributed(sentence: str, start: int, end: int) -> str | None:
    """How the term at `start:end` is attributed to the reader, or None."""
    before = sentence[:start]
    if _BEFORE_POSSESSIVE.search(before) or _READER.match(sentence, start):
        return "the reader's own (a possessive)"
    if (_BEFORE_SUBJECT.search(before) or _BEFORE_YOU.search(before)) and not _DID_YOU_KNOW.search(
        before
    ):
        return "said of the reader"
    if _BEFORE_VOCATIVE.search(before) and _VOCATIVE_END.match(sentence, end):
        return "the reader is addressed as one"
    if _AFTER_LIKE_YOU.search(sentence[end:]):
        return "the reader is counted as one"
    if (_BEFORE_AS_A.search(before) or _BEFORE_CONDITION.search(before)) and _READER.search(
        sentence
    ):
        return "the reader is addressed as one"
    s = sentence.strip()
    if (s.endswith("?") or s.startswith("¿")) and len(s.split()) <= 12:
        if _READER.search(s) and not _DID_YOU_KNOW.search(s):
            return "asked of the reader"
        if not _THIRD_PERSON.search(s) and not _WH_START.search(s.lstrip("¿")):
            return "asked of the reader"
    return None


def _dedupe(found: list[tuple[int, int, int, Attribution]]) -> list[Attribution]:
    """One attribution per stretch of text: specifics first, then the built-in categories,
    then the kit's own topics."""
    taken: list[tuple[int, int]] = []
    out: list[Attribution] = []
    for _, start, end, it in sorted(found, key=lambda f: (f[0], f[1])):
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            out.append(it)
    return out
