"""The creep guard: what a message says about its reader.

A sensitive trait (health, pregnancy, children, religion, sexuality, ethnicity, finances,
precise location, age) blocks when the copy attributes or insinuates it to the recipient, and
not when it only mentions the topic ("new research on cancer therapy", "the Great
Depression", "our Ramadan collection"). Attribution is read from the wording around a term,
in English, German, French, Spanish and Portuguese:

- a possessive: "your pregnancy", "Ihre Schulden", "votre diabète", "tu embarazo";
- the reader as subject: "you're expecting", "you have diabetes", "du bist schwanger";
- a label for the reader: "as a devout Muslim, you…", "seniors like you", "Hey mum-to-be";
- a question put to the reader with no other subject: "Expecting a baby?", "Struggling with
  debt?", "Recently diagnosed?", "¿Embarazada?";
- specifics about the reader's family, place or age: "your 12-year-old daughter Emma",
  "near your home", "you're turning 60", "your 40th birthday";
- the brand saying it knows ("We know money has been tight"), a greeting by name ("Eid
  Mubarak, Aisha!"), a form of address ("queer friend!"), an origin label ("As a Korean
  American", "Als Türkin"), sentences opening "As a …" even without "you" after them;
- a congratulation on it ("Herzlichen Glückwunsch zur Schwangerschaft"), and a wish or a
  question that names the reader ("Happy third trimester, Chloe!", "Money tight, Jess?").

A term right after the brand's own "our / notre / unser / nuestro" names a product, and a
possessive or subject separated from the term by the brand's things or the reader's order
("your order of prenatal vitamins") does not attribute.

Deterministic and explainable; each finding names its category and the words that attribute
it. Measured per category in `autocmo eval` on `evals/datasets/creep.jsonl` (written on this
project alongside these rules: optimistic figures).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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

# Words that name a person's origin: they attribute only as a label for the reader ("as a
# Korean American", "you're Polish", "Als Türkin"), never after a possessive ("your Italian
# leather bag").
_DEMONYMS = (
    r"(?:african|arab|asian|black|brown|chinese|filipin[ao]|indian|irish|italian|jamaican|"
    r"japanese|korean|latin[ao]|latinx|mexican|moroccan|nigerian|pakistani|polish|somali|"
    r"turkish|vietnamese|kurdish|roma|indigenous|native american|hispanic|caribbean|"
    r"[a-z]+ american|tur(?:k|kin|kinnen)|araber(?:in)?|afrikaner(?:in)?|migrant(?:in)?|"
    r"maghrebin\w*|africain\w*|arabe|asiatique|marocain\w*|algerien\w*|"
    r"latin[ao]|gitan[ao]|marroqu\w*|african[ao]|asiatic[ao]|mexican[ao]|inmigrantes?|"
    r"immigrants?|refugees?|first[- ]generation \w+)"
)
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
        r"(?<=your )conditions?(?! of)|glucose (?:strips|monitors?|meters?)|test strips|"
        r"insulin pens?|"
        r"ptsd|ocd|bipolar|schizophren\w*|insomnia|sleep apnea|hair loss|"
        r"(?<=with )ms|blood sugar|chronic fatigue|long covid|"
        r"bluthochdruck|blutdruck|arthrose|ruckenschmerz\w*|kopfschmerz\w*|migrane\w*|"
        r"angststorung\w*|zuckerkrank\w*|neurodermitis|heuschnupfen|schlafstorung\w*|"
        r"arthrosis|anxiete|fatigue chronique|mal de dos|"
        r"douleurs? (?:chronique|articulaire)s?|"
        r"insomnie|hypertension arterielle|"
        r"migranas?|ansiedad|artrosis|artritis|diabetes|"
        r"dolor(?:es)? de (?:espalda|cabeza|rodilla)|"
        r"insomnio|celiaqu\w*|hipertension|cancer de \w+|quimio\w*|"
        r"depressao|ansiedade|doencas?|enxaquecas?|dor(?:es)? (?:nas costas|de cabeca|nos joelhos"
        r"|cronicas?)|hipertensao|pressao alta|artrite|insonia|obesidade"
    ),
    "pregnancy": (
        r"pregnan\w*|expecting(?: a baby| twins| your first| a little one| a child)|"
        # "Expecting, Anna?", "Are you expecting?" — not "what you were expecting, right?",
        # "more than you were expecting, Sam!", "Still expecting, Anna? Your parcel…"
        r"(?:(?<=are you )|(?<=you're )|(?<=you are )|(?<![\w',]\s)(?<![\w']))"
        r"expecting(?=\s*[.!?]|,\s*[^\W\d_]+\s*[.!?])|"
        r"(?:mum|mom|mother|mama|mommy)s?[- ]to[- ]be|baby bump|baby due|trimester|prenatal|"
        r"expectant|maternity|baby on the way|miscarriage|"
        r"schwanger\w*|werdende mutter|enceinte|grossesse|future maman|"
        r"embarazad\w*|embarazo|futura mama|premama|nursery|"
        r"(?:erwarten|erwartest) (?:ein|ihr) baby|esper\w* (?:un|tu|su) bebe|attend\w* un bebe|"
        r"expecting (?:in|this|next) \w+|little one (?:on the way|due)|(?<=your )due date|"
        r"(?<=baby )due|(?<=baby is )due|"
        r"eating for two|morning sickness|growing bump|bump[- ]friendly|your bump|"
        r"(?<=your )baby shower|new (?:mum|mom|mother|parent)s?|breastfeed\w*|"
        r"stillende|stillzeit|allait\w*|lactancia|amamant\w*|jeune maman|frischgebackene mama|"
        r"heureux evenement|nausees matinales|babybauch|umstandsmode|mutterpass|"
        r"dulce espera|mama primeriza|"
        r"gravid\w*|gestantes?|gestacao|esperando (?:um|o seu|seu|o) bebe|bebe a caminho"
        r"|futura mamae|enjoos? matinais"
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
        r"musulman\w*|cristian\w*|judi[oa]s?|creyente\w*|catolic\w*|"
        r"believers?(?! in)|practi[sc]ing (?:\w+ )?(?:catholic|muslim|jew|christian|hindu|sikh)\w*|"
        r"lent|iftar|suhoor|rosh hashanah|vesak|"
        r"menorahs?|puja|prayer (?:mats?|rugs?|beads)|rosar(?:y|ies)|kippahs?|yarmulkes?|"
        r"praktizierend\w*|katholik\w*|fastenzeit|(?<=votre )aid|(?<=ton )aid|(?<=l')aid\b|"
        r"careme|cuaresma|misa|"
        r"muculman\w*|evangelic\w*|cristaos?|crista|judeus?|judia|igreja|quaresma|ramada"
    ),
    "sexuality": (
        r"gay|lesbians?|bisexual\w*|queer|lgbt\w*\+?|transgender|sexual orientation|"
        r"your coming[- ]out|homosexual\w*|schwul\w*|lesbisch\w*|lesbienne\w*|lesbiana\w*|"
        r"out and proud|same[- ]sex|bi(?![\w-])|bisexu\w*|pansexual\w*|asexual\w*|"
        r"(?:celebrating|since|after) (?:your )?coming[- ]out|homosexuel\w*|lesbien\w*|"
        r"lesbicas?|homossexua\w*|bissexua\w*"
    ),
    "ethnicity": (
        r"ethnic\w*|(?:black|white|asian|latina|latino|hispanic|arab|indigenous|native) "
        r"(?:woman|women|man|men|person|people|girl|guy|community|heritage|roots|skin)|"
        r"latina|latino|hispanic|african[- ]american|immigra\w*|heritage|ancestry|"
        r"first[- ]generation|diaspora|"
        r"migrationshintergrund|herkunft|origine\w*|etnia|inmigrante\w*|"
        rf"{_DEMONYMS} (?:roots|heritage|descent|background)|"
        r"(?:racines|raices|wurzeln|origenes)(?: \w+)?|imigra\w*"
    ),
    "age": (
        r"turn(?:ing|ed|s)? \d{2}|retired|retirement|pension\w*|over[- ]\d{2}s?|seniors?|"
        r"elderly|midlife|empty[- ]nest\w*|rentner\w*|retraite|jubilad[oa]s?|"
        r"retirees?|pensioners?|older adults?|over[- ]?(?:50|60|65|70)s?|"
        r"aposentad[oa]s?|aposentadoria|terceira idade|idos[oa]s?"
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
        r"knapp bei kasse|geldsorgen|fins? de mois|llegar a fin de mes|"
        r"tight on (?:money|cash)|(?:money|cash|funds) (?:(?:has been|is|was|'s) )?(?:\w+ )?tight|"
        r"geld (?:ist )?knapp|argent (?:est )?serre|dinero (?:esta )?justo|"
        r"maxed[- ]out (?:\w+ )?(?:cards?|credit)|lost (?:your|ur) job|layoffs?|"
        r"(?:account|payment|bill|invoice|rent|loan)s? (?:is|are|was|were) (?:\w+ )?overdue|"
        r"overdue (?:bills?|payments?|rent)|payments? bounced|"
        # a decline in the reader's past, not the order update "your card was declined"
        r"card (?:was |got |has been )?declined (?:last time|again|before|previously|twice)|"
        r"overdrawn|konto (?:ist )?im minus|im dispo|mietschulden|"
        r"salaire ne suffit|fin de mois difficile|llegas? (?:justo )?a fin de mes|"
        r"sin trabajo|skint|hard up|strapped for cash|short of money|can'?t make rent|"
        r"dividas?|endividad[oa]s?|nome sujo|contas (?:estao )?apertadas|aperto financeiro"
        r"|desempregad[oa]s?|sem dinheiro|no vermelho|dinheiro (?:esta )?(?:curto|apertado)"
        r"|grana (?:esta )?curta|(?:aluguel|contas) atrasad[oa]s?"
    ),
}

_LABELS = {"ethnicity": _DEMONYMS}
_LABEL_RX = re.compile(rf"(?<![\w-]){_DEMONYMS}(?![\w-])")

_POSSESSIVE = (
    r"(?:your|ur|yours|dein\w*|ihr(?:e|em|en|er|es)?|ta|tes|votre|vos|tu|tus|su|sus"
    r"|seus?|suas?|teus?|tuas?)"
)
_SUBJECT = (
    r"(?:you(?:'re|'ve| are| were| have| had| may be| might be| could be| feel| live| struggle"
    r"| suffer| deal| cope| just found out| found out| recently| fast| observe| keep| practi[sc]e"
    r"| pray| attend| celebrate| identify)"
    r"|(?:are|were|have|do|did) you|u r|du bist|du hast|bist du|hast du|sie sind|sie haben"
    r"|sind sie|haben sie|du \w+st|(?:da|weil|wenn|ob) sie|tu es|tu as|es-tu|as-tu|tu \w+es"
    r"|vous etes|vous avez|etes-vous|avez-vous|vous \w+ez|estas|eres|tienes|sufres|padeces"
    r"|vives|llevas|usted esta|usted tiene|esta usted|tiene usted"
    r"|voce (?:esta|estava|tem|tinha|e|sofre|vive|convive|luta|anda|ficou|foi)|esta voce|tem voce)"
)
_BEFORE_POSSESSIVE = re.compile(rf"\b{_POSSESSIVE}\s+(?:[\w'-]+\s+){{0,3}}$")
_BEFORE_SUBJECT = re.compile(rf"\b{_SUBJECT}\b(?:\s+[\w'-]+){{0,4}}\s+$")
_LABEL_SUBJECT = re.compile(rf"\b{_SUBJECT}\s+(?:an?\s+)?$")
_BEFORE_YOU = re.compile(r"\b(?:you|u|du|tu|vous|voce)\s+$")
_BEFORE_AS_A = re.compile(r"\b(?:as an?|als|en tant que|como)\s+(?:[\w'-]+\s+){0,2}$")
# "As a devout Muslim, …", "As someone who attends Sunday mass", "Como buen católico, …" at the
# start of a sentence (after an optional greeting): in copy, that addresses the reader.
_OPENING_AS_A = re.compile(
    r"^\W*(?:(?:hi|hey|hello|dear|hallo|bonjour|hola|ola|oi)\b[^,!:]{0,30}[,!:]\s*)?"
    r"(?:as (?:an?|someone who|one who|somebody who)|als|en tant que|comme|como|pour vous qui"
    r"|pour toi qui|para ti que)\s+(?:[\w'-]+\s+){0,3}$"
)
_BRANDS_OWN = re.compile(
    r"\b(?:our|ours|this|these|unser\w*|notre|nos|nuestr\w*|orders?|parcels?|packages?"
    r"|deliver(?:y|ies)|shipments?|baskets?|carts?|commandes?|colis|bestellung\w*|paket\w*"
    r"|pedidos?|cesta|noss[oa]s?|encomendas?|entregas?|carrinho)\b"
)
"""The brand's own things and the reader's orders: "you'll love our maternity range" or
"your order of prenatal vitamins has shipped" says nothing new about the reader."""
_OF_THE_BRAND = re.compile(
    r"\b(?:our|unser\w*|notre|nos|nuestr\w*|noss[oa]s?)\s+(?:[\w'-]+\s+){0,2}$"
)
"""A term that names the brand's own thing ("our Ramadan collection", "notre box Ramadan")."""
_NOT_READER_AFTER = re.compile(
    r"^[^,.;:!?]{0,40},?\s*(?:we|our|us|wir|unser\w*|nous|notre|nos|nosotros|nuestr\w*"
    r"|noss[oa]s?)\b"
)
_BEFORE_CONDITION = re.compile(
    r"\b(?:(?:living|struggling|dealing|coping|diagnosed|suffering|battling|managing|"
    r"recovering)\s+(?:with|from)|going through|suffer(?:s|ing)? from|recovering from"
    r"|leid\w* (?:an|unter)|(?:sie|du) (?:\w+ )?unter|souffr\w* d(?:e|'|u|es)"
    r"|atteinte? d(?:e|'|u|es)|sufr\w* de|padec\w* de|vivre avec|vivir con"
    r"|sofr\w* (?:de|com)|convive\w* com|vivendo com|lutando contra|diagnosticad[oa] com)"
    r"\s*(?:[\w'-]+\s+){0,2}$"
)
# The brand says it knows something about the reader: "We know money has been tight",
# "We noticed you bought glucose strips", "Wir wissen, dass …".
_WE_KNOW = re.compile(
    r"\b(?:we|we've|we have) (?:know|knew|noticed|notice|saw|see|remember|understand|can tell|"
    r"spotted)\b|\blooks like you\b|\bwir wissen\b|\bnous savons\b|\bon sait\b"
    r"|\bsabemos\b"
)
# A label used as a form of address: "Happy Pride, queer friend!", "Hey devout fam".
_AFTER_ADDRESS = re.compile(
    r"[\w'-]*\s+(?:friends?|fam|folks|mamas?|ladies|lady|queens?|kings?|crew|squad)\s*[!,.]"
)
_ADDRESS_START = re.compile(r"(?:^|[,!:])\s*(?:(?:hi|hey|hello|dear|hallo|hola|bonjour)\s+)?$")
"""Where a form of address starts: the sentence's start or after a comma ("Happy Pride, …")."""
_BEFORE_VOCATIVE = re.compile(
    r"(?:^|[,!:]\s*)(?:hi|hey|hello|dear|congrats|congratulations|calling all|hallo|liebe[rs]?"
    r"|bonjour|chere?s?|hola|ola|oi|querid[ao]s?)[\s,]+(?:[\w'-]+\s+){0,2}$"
)
_VOCATIVE_END = re.compile(r"(?:\s+[\w'-]+){0,2}\s*(?:[,!:.]|$)")
# Congratulating on a life event is telling the reader it is theirs: "Herzlichen Glückwunsch zur
# Schwangerschaft", "Congrats on the new diagnosis", "Parabéns pela gravidez".
_CONGRATULATED = re.compile(
    r"\b(?:congratulations|congrats|felicitations|gluckwunsch|alles gute|enhorabuena|felicidades"
    r"|parabens|auguri|mazel tov)\s+(?:on|for|zu[rm]?|pour|por|pel[ao]s?|per)\s+"
    r"(?:[\w'-]+\s+){0,2}$"
)
# A wish before the term ("Happy third trimester", "Bon Ramadan"): said to the reader only when
# the sentence names them (`_NAMED_END`); "Happy Ramadan to all who celebrate" is a greeting.
_WISHED = re.compile(
    r"(?:^\s*|[,!:.]\s*)(?:happy|joyeux|joyeuse|bonne?|feliz|frohe?[ns]?|schone[ns]?|buon[ao]?|boa|bom)"
    r"\s+(?:[\w'-]+\s+){0,2}$"
)
_NAMED_END = re.compile(
    r",\s*(?:(?:Mr|Mrs|Ms|Mx|Dr|Herr|Frau|M|Mme|Sr|Sra)\.?\s+)?[A-Z][^\W\d_A-Z]+"
    r"(?:-[A-Z][^\W\d_A-Z]+)?\s*[!?.]+\s*$"
)
"""A sentence that ends by naming its reader: "…, Jess?", "…, Herr Wagner!" (original case)."""
# A festival or holy season named in a question ("Ready for Diwali, Priya?", "Any plans for
# Passover?") asks about a date on everyone's calendar: the same question goes to the whole list
# in a seasonal campaign, and says nothing of the reader's faith. Asking whether the reader
# observes it does ("Celebrating Diwali this year?", "Fasting this Ramadan?"). A wish by name
# stays blocked ("Bon Ramadan, Karim !", "Happy Diwali, Priya!", `_WISHED` and the religion
# pattern in `_SPECIFIC`): it tells that one reader the festival is theirs, which in a message
# rendered per person means the brand has inferred their religion (special-category data);
# "Bon Ramadan à toutes et à tous" passes.
_OCCASION = re.compile(
    r"(?:(?:during|for|this)\s+)?(?:ramadan|ramadhan|ramada|eid|diwali|hanukk?ah|chanukah"
    r"|passover|yom kippur|rosh hashanah|vesak|aid|lent|careme|cuaresma|quaresma|fastenzeit)"
)
_OBSERVANCE = re.compile(
    r"\b(?:celebrat(?:e|es|ed|ing)|celebr(?:a|as|an|ando)|observ(?:e|es|ed|ing)|fast(?:ing|ed)"
    r"|break\w* (?:your|the) fast|pray(?:s|ed|ing)?|worship\w*|feier(?:st|t|n)"
    r"|fastest du|fastet ihr|fasten sie|fete[rz]|fetes-tu|fetez-vous"
    r"|(?:tu|il|elle|on|vous|nous|ils|elles) fet(?:e|es|ez|ons|ent)|jeun\w*|ayun\w*|jejua\w*"
    # the fast as a noun or an infinitive ("ready to fast", "the Ramadan fast"), not an
    # adjective ("fast delivery", "fast-track")
    r"|(?:to|the|ramadan|lent|kippur) fast(?![\w-])(?!\s+(?!(?:this|for|during|on|until|and)\b)\w)"
    r"|keep(?:s|ing)? (?:ramadan|ramadhan|lent|passover|yom kippur)"
    r"|(?:fais|fait|faites|faire|haces|hace|hacen|machst|macht|haltst|fazes|faz)"
    r" (?:(?:le|el|du|sie|den|o) )?(?:ramadan|ramadhan|ramada|careme|cuaresma|quaresma))\b"
)
"""Verbs of observing a festival (not its nouns: "the Diwali celebrations", "fast delivery")."""
_AFTER_LIKE_YOU = re.compile(
    r"^[\w'+-]*(?:\s+[\w'-]+){0,2}\s+(?:like you|such as yourself|wie (?:du|sie)"
    r"|comme (?:toi|vous)|como (?:tu|usted|voce))"
)
_READER = re.compile(
    r"\b(?:you|your|yours|yourself|u|ur|du|dich|dir|dein\w*|sie|ihnen|ihr\w*|tu|toi|ton|ta|tes"
    r"|vous|votre|vos|te|ti|tus|usted|contigo|tienes|eres|estas|sabes|puedes|quieres|necesitas"
    r"|vas|sufres|vives|llevas|sientes|buscas|voce|voces|teus?|tuas?|seus?|suas?)\b|\bt'"
)
_THIRD_PERSON = re.compile(
    r"\b(?:he|she|they|it|people|someone|anyone|many|most|who|er|man|ils|elles|il|elle"
    r"|ellos|ellas|alguien|ele|ela|eles|elas|alguem|pessoas)\b"
)
_WH_START = re.compile(
    r"^\W*(?:what|how|why|when|where|which|who|is|are|does|do|can|was|wie|was|warum|wann"
    r"|qu\w*|comment|pourquoi|que|como|cual|cuando|donde|por que|qual|onde|porque)\b"
)
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")
_DID_YOU_KNOW = re.compile(
    r"\b(?:did you know|you can read|you may have (?:heard|read)|"
    r"wussten sie|saviez-vous|sabias|voce sabia)\b"
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
        rf"|\b{_POSSESSIVE}\s+(?:{_KIN})(?:'s)?,?\s+(?:age|aged)\s+\d"
        rf"|\b{_POSSESSIVE}\s+(?:little\s+|teenage\s+|youngest\s+|oldest\s+|eldest\s+)?"
        r"(?:son|daughter|toddler|teen|teenager|little one|baby boy|baby girl)'s\b"
        r"|(?-i:\b[A-Z][a-z]+)\s+(?:turns|is turning|will turn|will be|is now)\s+"
        r"(?:1[0-7]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
        r"(?=.{0,80}\b(?:he|she|him|her|his)\b)"
        r"|(?-i:\b(?!(?:When|What|Where|Who|How|It|That|There|Here|Let|He|She|Today|Tomorrow)'s)"
        r"[A-Z][a-z]+)'s\s+(?:first\s+)?(?:school|kindergarten|nursery|daycare|class"
        r"|playgroup|preschool)\b"
        r"|\b(?:votre|ton|ta)\s+(?:petit|petite)\s+(?-i:[A-Z][a-z]+)"
        r"|\b(?:tu|su)\s+peque\w*\s+(?-i:[A-Z][a-z]+)"
        r"|\b(?:ihr|dein)\w*\s+kleine[rns]?\s+(?-i:[A-Z][a-z]+)"
        r"|\b(?:seu|sua|teu|tua)\s+(?:filh[oa]|bebe|pequen[oa])\s+(?:de\s+\d{1,2}\s+anos"
        r"|(?-i:[A-Z][a-z]+))"
    ),
    "pregnancy": (
        r"\b(?:your|until your|till your)\s+(?:baby|little one|new arrival|bundle of joy)\s+"
        r"(?:arrives|is due|comes|is born|is on (?:the|its) way)\b"
    ),
    "health": (
        r"\byour\s+(?:doctor|gp|physio|therapist|dermatologist|oncologist|cardiologist|"
        r"midwife)\s+(?:says|said|told you|recommends|recommended|wants|suggests|suggested|"
        r"prescribed)\b"
    ),
    "religion": (
        r"\b(?:ramadan|eid|diwali|hanukk?ah|chanukah|passover|yom kippur|rosh hashanah|vesak"
        r"|vaisakhi|purim|shabbat|ramadhan)(?:\s*,\s*(?-i:[A-Z][a-z]+)\s*[!.,]"
        # a wish by name is one even when it ends in a question mark
        r"|\s+(?:mubarak|kareem|sameach|sameah|shalom)\s*,\s*(?-i:[A-Z][a-z]+)\s*[!.,?])"
        r"|\b(?:ramadan|eid)\s+(?:mubarak|kareem)\s+to you\b"
    ),
    "ethnicity": (
        r"\byou(?:'ve)?\s+(?:moved|came|emigrated|immigrated|relocated)\s+(?:here\s+|over\s+)?"
        r"from\s+(?-i:[A-Z][a-z]+)"
        r"|\b(?:your|ur)\s+(?:home country|homeland|mother tongue|native (?:country|language))\b"
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
        r"|\byou(?:'re| are)\s+(?:currently\s+|right now\s+|now\s+|still\s+|just\s+)?"
        r"(?:at|near|right by|right next to|staying at|staying in|checked in at)\s+"
        r"(?:the\s+|our\s+)?"
        r"(?-i:[A-Z][a-z][\w'.]*)"
        r"|\byou(?:'re| are)\s+(?:right now|currently)\s+(?:at|in|near|by)\s+(?:the\s+)?"
        r"(?-i:[A-Z][a-z])"
        r"|\b(?:saw|spotted|noticed|seen)\s+(?:that\s+)?you(?:'re| are| were)?\s+"
        r"(?:checked in|checking in|at|near|walking|shopping|staying)\b"
        r"|\b(?:looks|seems) like you(?:'re| are)\s+(?:at|in|near|by)\b"
        r"|\byour\s+(?:daily\s+)?(?:commute|route|walk|run|jog)\s+(?:down|along|on|via|through"
        r"|past)\s+(?-i:[A-Z])"
        r"|\bwhere you(?:'re| are)\s+(?:standing|sitting|parked)\b"
        r"|\b(?:sie sind|du bist|sind sie|bist du)\s+(?:gerade|jetzt|aktuell|im moment)\s+"
        r"(?:am|an|in|im|bei|auf)\b(?!\s+(?:urlaub|homeoffice|stress|einsatz|dienst|ruhestand))"
        r"|\b(?:sie wohnen|du wohnst|wohnen sie|wohnst du)\s+(?:in der|am|an der)\s+(?-i:[A-Z])"
        r"|\b(?:vous etes|tu es|etes-vous|es-tu)\s+(?:actuellement|en ce moment|juste)\s+"
        r"(?:a|au|pres|dans)\b"
        r"|\b(?:vous habitez|tu habites)\s+(?:rue|pres)\b"
        r"|\b(?:votre|ta)\s+(?:rue|immeuble)\b"
        r"|\b(?:estas|esta usted)\s+(?:ahora(?: mismo)?|ya|justo)\s+(?:en|cerca)\b"
        r"|\bestas a \d+\s*(?:m|km|metros|minutos)\s+de\b"
        r"|\bperto da (?:sua|tua) casa\b|\bonde (?:voce mora|moras)\b"
        r"|\b(?:sua|tua)\s+localizacao (?:atual|exata)\b"
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
        r"|\b(?:happy|joyeux|feliz)\s+(?:[2-9]\d(?:st|nd|rd|th)?|[a-z]+tieth)"
        r"(?:\s+(?:birthday|anniversaire|cumpleanos))?\s*,\s*(?-i:[A-Z][a-z]+)"
        r"|\b(?:forty|fifty|sixty|seventy|eighty|[2-9]0)\s+(?:looks|suits)\s+(?:\w+\s+)?"
        r"(?:on\s+)?you\b"
        r"|(?:^|[.!?:]\s*)at\s+[2-9]\d,?\s+(?:you|your)\b"
        r"|\b(?:vous avez|tu as|tienes|usted tiene|sie sind|du bist)\s+(?:deja\s+|bientot\s+"
        r"|ya\s+|jetzt\s+)?[2-9]\d\s*(?:ans|anos|jahre)\b"
        r"|\bmit (?:ihren|deinen) [2-9]\d jahren\b"
        r"|(?:^|[.!?:]\s*)a\s+[2-9]\d\s+ans,\s*(?:vous|tu)\b"
        r"|\bin your (?:twenties|thirties|forties|fifties|sixties|seventies|eighties|[2-9]0s)\b"
        r"|\byour big \d-?0\b|\bcon [2-9]\d anos,?\s+(?:ya\s+)?(?:mereces|te|tu|puedes|eres)\b"
        r"|\bvoce (?:tem|fez|faz|completa|completou|vai fazer)\s+[2-9]\d\s+anos\b"
        r"|\b(?:seus|teus)\s+[2-9]\d\s+anos\b|\bna (?:sua|tua) idade\b"
    ),
}

_TERM_RX = {c: re.compile(rf"(?<![\w-])(?:{p})(?!\w|-free)") for c, p in _TERMS.items()}


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a regex (split at `|` outside groups and classes)."""
    out: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*out, pattern[start:]]


# Each alternative of a specific pattern runs alone, and only on lines holding one of its
# literals: one big alternation costs ~100 µs a line, most of it on copy it cannot match.
_SPECIFIC_RX: list[tuple[str, re.Pattern[str]]] = [
    (cat, re.compile(alt, re.IGNORECASE))
    for cat, p in _SPECIFIC.items()
    for alt in _alternatives(p)
]


_GATE: LiteralGate[tuple[str, str | int]] = LiteralGate(
    [
        *[(("term", c), p) for c, p in _TERMS.items()],
        *[(("specific", i), rx.pattern.lower()) for i, (_, rx) in enumerate(_SPECIFIC_RX)],
        *[(("label", c), p) for c, p in _LABELS.items()],
    ]
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

    def __init__(self, listed: list[str] | None = None, *, model: bool = False) -> None:
        """Compile; `listed` are the kit's topics as regexes over folded text. A listed topic
        that itself names the reader (`your location`) attributes by itself. With `model`,
        lines the rules let through that are candidates go to the classifier
        (`creep_model.py`) when its weights are shipped. Off by default: on the cases it
        never trained on it caught nothing the rules miss and blocked ordinary lines
        ("Consult your doctor before…", SMS ham)."""
        self._model: CreepModel | None = shipped_model() if model else None
        self._listed_direct: re.Pattern[str] | None = None
        self._listed_terms: re.Pattern[str] | None = None
        direct = [p for p in listed or [] if _READER.search(p.replace("\\s+", " "))]
        terms = [p for p in listed or [] if p not in direct]
        if direct:
            self._listed_direct = re.compile(r"\b(?:" + "|".join(direct) + ")")
        if terms:
            self._listed_terms = re.compile(r"(?<![\w-])(?:" + "|".join(terms) + ")")
        # the kit's topics run only on lines holding their literals (a lookbehind at every
        # position of every line cost ~7 µs a line)
        listed_rx = {"direct": self._listed_direct, "terms": self._listed_terms}
        self._listed_gate = LiteralGate([(k, rx.pattern) for k, rx in listed_rx.items() if rx])

    def scan(self, text: str) -> list[Attribution]:
        """Every trait attributed to the reader in one line of copy."""
        folded = fold(text)
        found: list[tuple[int, int, int, Attribution]] = []  # (priority, start, end, it)
        may = _GATE.keys_in(folded)
        for i in sorted(i for _, i in may if isinstance(i, int)):
            cat, rx = _SPECIFIC_RX[i]
            for source in (text,) if text.isascii() else (text, folded):
                for m in rx.finditer(source):
                    it = Attribution(cat, m.group(), "names a specific fact about the reader")
                    found.append((0, m.start(), m.end(), it))
        listed = self._listed_gate.keys_in(folded)
        if self._listed_direct is not None and "direct" in listed:
            for m in self._listed_direct.finditer(folded):
                span = original_span(text, folded, m.start(), m.end())
                it = Attribution("listed", span, "a topic the brand kit forbids")
                found.append((2, m.start(), m.end(), it))
        terms = [(c, rx) for c, rx in _TERM_RX.items() if ("term", c) in may]
        listed_terms = self._listed_terms if "terms" in listed else None
        if listed_terms is not None and listed_terms.search(folded):
            terms.append(("listed", listed_terms))
        labels = ("label", "ethnicity") in may
        if terms or labels:
            self._scan_terms(text, folded, terms, labels, found)
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
        labels: bool,
        found: list[tuple[int, int, int, Attribution]],
    ) -> None:
        """Terms (and, with `labels`, origin labels) attributed to the reader, sentence by
        sentence."""
        originals: list[str] | None = None
        for i, sm in enumerate(_SENTENCE.finditer(folded)):
            sentence = sm.group()
            hits = [(c, m) for c, rx in terms for m in rx.finditer(sentence)]
            if not hits:
                named = False
            elif len(text) == len(folded):  # names need the original case: same offsets
                named = bool(_NAMED_END.search(text, sm.start(), sm.end()))
            else:  # folding changed lengths ("ß", ligatures): the original's i-th sentence
                if originals is None:
                    originals = [m.group() for m in _SENTENCE.finditer(text)]
                named = i < len(originals) and bool(_NAMED_END.search(originals[i]))
            for cat, m in hits:
                how = _attributed(sentence, m.start(), m.end(), named=named)
                if how:
                    a, b = sm.start() + m.start(), sm.start() + m.end()
                    it = Attribution(cat, original_span(text, folded, a, b), how)
                    found.append((2 if cat == "listed" else 1, a, b, it))
            if labels:
                for start, end, how in _labels(sentence):
                    a, b = sm.start() + start, sm.start() + end
                    it = Attribution("ethnicity", original_span(text, folded, a, b), how)
                    found.append((1, a, b, it))


def _attributed(sentence: str, start: int, end: int, *, named: bool = False) -> str | None:
    """How the term at `start:end` is attributed to the reader, or None; `named`: the sentence
    ends by naming its reader ("…, Jess?")."""
    before = sentence[:start]
    brand = _OF_THE_BRAND.search(before)
    if brand and not _READER.search(brand.group()):
        return None
    m = _BEFORE_POSSESSIVE.search(before)
    if (m and not _BRANDS_OWN.search(before, m.start())) or _READER.match(sentence, start):
        return "the reader's own (a possessive)"
    m = _BEFORE_SUBJECT.search(before) or _BEFORE_YOU.search(before)
    if m and not _BRANDS_OWN.search(before, m.start()) and not _DID_YOU_KNOW.search(before):
        return "said of the reader"
    if _BEFORE_CONDITION.search(before) and (_READER.search(sentence) or _asked(sentence)):
        return "the reader is said to live with it"
    if _CONGRATULATED.search(before):
        return "the reader is congratulated on it"
    # a festival in a question is a date, unless the question is about observing it (by the
    # reader or by anyone: "Il fête l'Aïd, Karim ?")
    occasion = _OCCASION.fullmatch(sentence, start, end) is not None
    observed = occasion and _OBSERVANCE.search(sentence) is not None
    by_question = observed or not occasion
    asked_by_name = sentence.rstrip().endswith("?") and (
        observed or (by_question and not _THIRD_PERSON.search(sentence))
    )
    if named and (_WISHED.search(before) or asked_by_name):
        return "said to the reader by name"
    if _WE_KNOW.search(before):
        return "the brand says it knows this about the reader"
    if _OPENING_AS_A.search(before) and not _NOT_READER_AFTER.search(sentence[end:]):
        return "the reader is addressed as one"
    if _AFTER_ADDRESS.match(sentence, end) and _ADDRESS_START.search(before):
        return "the reader is addressed as one"
    if _BEFORE_VOCATIVE.search(before) and _VOCATIVE_END.match(sentence, end):
        return "the reader is addressed as one"
    if _AFTER_LIKE_YOU.search(sentence[end:]):
        return "the reader is counted as one"
    if _BEFORE_AS_A.search(before) and _READER.search(sentence):
        return "the reader is addressed as one"
    if by_question and _asked(sentence):
        return "asked of the reader"
    return None


def _asked(sentence: str) -> bool:
    """A short question put to the reader: in the second person, or with no subject at all
    ("Expecting a baby?", "Struggling with debt?")."""
    s = sentence.strip()
    if not ((s.endswith("?") or s.startswith("¿")) and len(s.split()) <= 12):
        return False
    if _READER.search(s) and not _DID_YOU_KNOW.search(s):
        return True
    return not _THIRD_PERSON.search(s) and not _WH_START.search(s.lstrip("¿"))


def _labels(sentence: str) -> Iterator[tuple[int, int, str]]:
    """Origin words used as a label for the reader: "As a Korean American, you…", "you're
    Polish", "Als Türkin…" (never after a possessive: "your Italian leather bag")."""
    for m in _LABEL_RX.finditer(sentence):
        before = sentence[: m.start()]
        if _BEFORE_POSSESSIVE.search(before):
            continue
        after = sentence[m.end() :]
        if (
            (_OPENING_AS_A.search(before) and not _NOT_READER_AFTER.search(after))
            or (_BEFORE_AS_A.search(before) and _READER.search(sentence))
            or _LABEL_SUBJECT.search(before)
            or _AFTER_LIKE_YOU.search(after)
            or (_AFTER_ADDRESS.match(sentence, m.end()) and _ADDRESS_START.search(before))
        ):
            yield m.start(), m.end(), "the reader is labelled as one"


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
