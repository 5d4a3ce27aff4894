"""The creep guard's optional second stage: a small classifier on MiniLM sentence embeddings.

Off by default (`CreepGuard(model=True)` turns it on): once the rules read reader attribution
per language, it caught nothing they miss on the cases it never trained on, and blocked
ordinary lines ("Consult your doctor before…", SMS ham).

The rules of `creep.py` catch the wordings they list; this stage reads lines they let through
and that look like candidates: a sensitive cue (`CUES`: a broad lexicon of stems for health,
pregnancy, children, beliefs, sexuality, origin, money, place and age, EN/DE/FR/ES) with the
reader near it (a second-person word close by) or in a question. Only those lines pay for an
embedding (the local all-MiniLM-L6-v2, `brand_guardrails.store.embed`); most copy never does.

The classifier is a softmax regression over the normalised embedding (labels `none` and the
categories), trained by `python -m evals.train_creep` on the creep cases written beside the
rules plus template sentences (never on the `fresh` or `held_out` cases); its weights, label
order and decision threshold ship in `creep_model.npz`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from brand_guardrails.checks._phrases import PhraseIndex
from brand_guardrails.checks._text import fold

MODEL_PATH = Path(__file__).with_name("creep_model.npz")
"""The trained weights (`W`, `b`), labels and threshold."""

# Stems over folded text (lower case, accents removed), matched at the start of a word. A cue
# alone never blocks: it only makes a line a candidate for the classifier.
# fmt: off
CUES: dict[str, tuple[str, ...]] = {
    "health": (
        "diabet", "glucose", "blood sugar", "insulin", "cancer", "chemo", "tumo", "surger",
        "operation", "recover", "injur", "therap", "doctor", "hospital", "clinic", "diagnos",
        "sick", "ill ", "illness", "disease", "condition", "pain", "ache", "migrain",
        "headache", "asthma", "inhaler", "allerg", "arthrit", "arthros", "joint", "knee",
        "hip ", "ibs", "crohn", "celiac", "coeliac", "intoleran", "eczema", "psoria", "acne",
        "insomnia", "sleepless", "anxi", "depress", "mental", "adhd", "autis", "dementia",
        "alzheimer", "parkinson", "sclerosis", "ms ", "stroke", "heart", "blood pressure",
        "cholesterol", "overweight", "obes", "lose weight", "weight loss", "kg", "pounds",
        "hearing", "deaf", "blind", "wheelchair", "disab", "mobility", "fatigue", "medic",
        "prescription", "pharmac", "symptom", "treatment", "cure", "krank", "krebs", "schmerz",
        "blutdruck", "bluthoch", "arzt", "therapie", "leiden", "ruck", "gelenk", "malad",
        "douleur", "souffr", "sante", "medecin", "enferm", "dolor", "sufr", "salud", "ansiedad",
        "migran",
    ),
    "pregnancy": (
        "pregnan", "expecting", "baby", "babies", "bump", "due ", "trimester", "prenatal",
        "maternity", "to-be", "to be", "mama", "nesting", "nursery", "newborn",
        "morning sickness", "eating for two", "shower", "midwife", "ultrasound", "schwanger",
        "umstand", "zu dritt", "enceinte", "grossesse", "bebe", "heureux evenement",
        "maternite", "embaraz", "premama",
    ),
    "children": (
        "daughter", "son ", "son'", "sons", "kid", "child", "toddler", "teen", "boy", "girl",
        "twins", "school", "kindergarten", "daycare", "year-old", "year old", "yr old", "grade",
        "tochter", "sohn", "kind", "schul", "fille", "fils", "enfant", "ecole", "hija", "hijo",
        "nino", "nina", "escuela", "colegio", "primaria",
    ),
    "religion": (
        "muslim", "islam", "christian", "catholic", "protestant", "jew", "hindu", "buddhis",
        "sikh", "mormon", "devout", "believer", "faith", "pray", "church", "mosque",
        "synagogue", "temple", "ramadan", "iftar", "suhoor", "eid", "fast", "lent", "easter",
        "christmas", "passover", "hanukk", "chanuk", "diwali", "yom kippur", "shabbat",
        "sabbath", "kosher", "halal", "mass", "pilgrim", "bible", "quran", "koran", "torah",
        "religio", "glaub", "christ", "kirche", "gebet", "katholi", "moschee", "musulman",
        "chretien", "croyant", "pratiquant", "priere", "eglise", "cristian", "catolic",
        "creyente", "iglesia", "misa", "oracion", "juif", "judio",
    ),
    "sexuality": (
        "gay", "lesbi", "bi ", "bisexual", "queer", "lgbt", "trans", "pride", "coming out",
        "come out", "boyfriend", "girlfriend", "husband", "wife", "same-sex", "same sex",
        "homosex", "schwul", "fierte", "orgullo", "homo",
    ),
    "ethnicity": (
        "heritage", "roots", "origin", "ancest", "ethnic", "race", "black", "white", "asian",
        "latina", "latino", "latinx", "hispanic", "african", "arab", "indigenous", "native",
        "immigra", "migra", "moved here", "irish", "mexican", "indian", "nigerian", "korean",
        "chinese", "japanese", "turk", "polish", "italian", "moroccan", "marocain", "pakistan",
        "filipin", "vietnam", "jamaic", "somali", "kurd", "roma", "herkunft", "wurzeln",
        "racines", "origen", "raices", "marroqu",
    ),
    "finances": (
        "debt", "loan", "credit", "money", "cash", "budget", "afford", "broke", "paycheck",
        "salary", "income", "wage", "job", "unemploy", "laid off", "layoff", "fired", "rent",
        "mortgage", "bills", "overdra", "overdue", "bankrupt", "behind on", "struggl", "tight",
        "maxed", "savings", "benefits", "schulden", "kredit", "knapp", "geld", "miete",
        "arbeitslos", "pleite", "dette", "decouvert", "argent", "loyer", "chomage",
        "fin de mois", "deuda", "dinero", "alquiler", "paro", "fin de mes", "hipoteca",
    ),
    "location": (
        "near", "right now", "currently", "spotted", "saw you", "seen you", "noticed you",
        "checked in", "check-in", "you're at", "you are at", "street", "lane", "road", "avenue",
        "commute", "meters", "metres", "minutes from", "away from", "hotel", "airport",
        "station", "mall", "on holiday", "on vacation", "strasse", "wohn", "gerade", "bahnhof",
        "actuellement", "gare", "habit", "ahora mismo", "calle", "estas en", "vives",
    ),
    "age": (
        "age", "years old", "birthday", "bday", "senior", "retire", "pension", "elderly",
        "turn", "sixties", "fifties", "forties", "seventies", "thirty", "forty", "fifty",
        "sixty", "seventy", "eighty", "alter", "jahre", "rentner", "geburtstag", "ans ", "ans,",
        "retraite", "anniversaire", "anos", "edad", "jubil", "cumple",
    ),
}
# fmt: on
_CUE_INDEX: PhraseIndex[str] = PhraseIndex(
    (stem, cat) for cat, stems in CUES.items() for stem in stems
)
_ORDINAL_AGE = re.compile(r"\b\d{2}(?:st|nd|rd|th)\b|\b\d-0\b|\b\d{2} ?(?:ans|anos|jahre)\b")
_READER = re.compile(
    r"\b(?:you|your|yours|yourself|u|ur|du|dich|dir|dein\w*|sie|ihnen|ihr\w*|tu|toi|ton|ta|tes"
    r"|vous|votre|vos|te|ti|tus|usted|contigo|tienes|estas|eres)\b|\bt'|\?|¿"
)


def cues(folded: str) -> set[str]:
    """Categories with a cue word in folded text (a stem at the start of a word)."""
    found: set[str] = set()
    for start, _, cat in _CUE_INDEX.matches(folded):
        if start == 0 or not folded[start - 1].isalnum():
            found.add(cat)
    if _ORDINAL_AGE.search(folded):
        found.add("age")
    return found


def cue_span(folded: str, category: str) -> tuple[int, int]:
    """Where the first cue of `category` is in folded text (the whole line when none is)."""
    for start, end, cat in _CUE_INDEX.matches(folded):
        if cat == category and (start == 0 or not folded[start - 1].isalnum()):
            while end < len(folded) and folded[end].isalnum():
                end += 1
            return start, end
    return 0, len(folded)


_NEAR = 30
"""Characters before a cue (and half as many after) in which the reader must be."""


def is_candidate(folded: str) -> bool:
    """A sensitive cue with the reader near it (a second-person word within `_NEAR`
    characters before it or half as many after), or in a question."""
    if not _READER.search(folded):
        return False
    question = "?" in folded or "¿" in folded
    for start, end, _ in _CUE_INDEX.matches(folded):
        if start and folded[start - 1].isalnum():
            continue
        if question or _READER.search(folded, max(0, start - _NEAR), end + _NEAR // 2):
            return True
    return bool(_ORDINAL_AGE.search(folded))


class CreepModel:
    """The trained softmax regression and its threshold."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        """Load the weights written by `evals/train_creep.py`."""
        with np.load(path) as z:
            self.weights = z["W"].astype(np.float32)
            self.bias = z["b"].astype(np.float32)
            self.labels: tuple[str, ...] = tuple(str(x) for x in z["labels"])
            self.threshold = float(z["threshold"])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per embedding (labels in `self.labels` order)."""
        z = embeddings @ self.weights.T + self.bias
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True))

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """For each text, the most probable category among those it has a cue for (`cues`)
        and its probability; `("none", 0.0)` for a text without cues."""
        if not texts:
            return []
        from brand_guardrails.store import embed

        return best_cued(self.labels, self.probabilities(embed(list(texts))), texts)


def best_cued(
    labels: Sequence[str], probabilities: np.ndarray, texts: Sequence[str]
) -> list[tuple[str, float]]:
    """Per row, the most probable label among the categories the text has a cue for."""
    out: list[tuple[str, float]] = []
    for row, text in zip(probabilities, texts, strict=True):
        cued = cues(fold(text))
        scored = [(float(row[i]), name) for i, name in enumerate(labels) if name in cued]
        p, name = max(scored, default=(0.0, "none"))
        out.append((name, p))
    return out


_LOCK = threading.Lock()
_SHIPPED: CreepModel | None = None


def shipped_model() -> CreepModel | None:
    """The shipped model, loaded once per process; None when the weights file is absent."""
    global _SHIPPED
    with _LOCK:
        if _SHIPPED is None and MODEL_PATH.exists():
            _SHIPPED = CreepModel(MODEL_PATH)
        return _SHIPPED
