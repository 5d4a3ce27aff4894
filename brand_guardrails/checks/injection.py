"""Prompt-injection detector for untrusted text (briefs, names, notes, reviews, addresses), and
the `injection` check family: outgoing copy that carries instructions to an AI blocks.

A logistic regression over hashed features of normalised text, trained on public data by
`evals/train_injection.py` (weights in `injection_model.npz` beside this file, reproducible
from the script). Normalisation folds case, accents and look-alike letters, reads leetspeak
inside words (`1gn0re`) and joins letters spaced out (`i g n o r e`). Features:

- character 3–5-grams of every word (so `igmre what I said before` still shares most of its
  grams with `ignore what I said before`, and German, French and Spanish wording is learnt
  from examples, not from a fixed list),
- word unigrams and bigrams,
- the cues below, in English, German, French and Spanish (German verb-last order too: `die
  obigen Anweisungen ignorieren`): the moves injections make (overriding earlier instructions
  or declaring them irrelevant, asking for the prompt, lifting restrictions, smuggling
  chat-role markers, interrupting the task, calling tools). They are features with learnt
  weights, not verdicts, and they are what a finding explains itself with,
- one feature against: an ordinary correction (`please ignore my previous e-mail`).

Texts of several sentences score as their most suspicious sentence (or the whole, if higher);
the trainer picks the threshold on out-of-fold scores computed the same way. Encoded spans
(base64, base32, hex, ASCII85, base85, escape sequences, ROT13, text spelled backwards) are
decoded and the decoded text scored too (`decoded`): a text scores at least as high as what it
hides.

Scoring is pure Python and numpy, needs no model download, and is memoised per text.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import string
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from brand_guardrails.checks._cache import LineMemo, per_kit, scan_lines
from brand_guardrails.checks._phrases import LiteralGate
from brand_guardrails.checks._text import Part, char_table, fold, mixes_letters_and_digits
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding, Severity

MODEL_PATH = Path(__file__).resolve().parent / "injection_model.npz"
"""The trained weights (package data)."""
DIM = 1 << 18
"""Size of the hashed feature space."""
_MAX_CHARS = 6000
"""Text beyond this is not scored (long jailbreaks say what they are well before it)."""

# (pattern over normalised text, what it means). Normalised text is folded, unaccented,
# leetspeak read as letters; so patterns are lower case ASCII.
_IGNORE = (
    r"ignor\w*|disregard\w*|forget\w*|forgot\w*|never\s*mind|skip|override|bypass|abandon|"
    r"vergiss\w*|vergesst|missacht\w*|olvid\w*|oubli\w*|descart\w*|salta|dimentic\w*|"
    r"ne\s+(?:tiens|tenez)\s+pas\s+compte|no\s+(?:hagas|haga|tengas\s+en\s+cuenta)\s+caso|"
    r"pasa\s+por\s+alto|fais\s+abstraction|faites\s+abstraction"
)
_EARLIER = (
    r"instructions?|prompts?|rules|orders|commands|directions|guidelines|policy|tasks?|"
    r"richtlinien|directives|directrices|pautas|istruzioni|regole|precedenti|"
    r"previous\w*|prior|above|preceding|before|befor|earlier|"
    r"anweisung\w*|befehl\w*|regeln|vorgaben|aufgaben?|informationen|vorher\w*|davor|zuvor|oben|"
    r"obig\w*|bisherig\w*|"
    r"instrucciones|indicaciones|reglas|tareas?|anterior\w*|antes|arriba|"
    r"regles|consignes|taches?|precedent\w*|ci-?dessus|avant|"
    r"(?:what|everything|all)\s+(?:i|we|you)\s+(?:said|told\s+you|wrote|were\s+told)"
)
_IGNORE_LATE = r"ignorieren|vergessen|missachten|ausser\s+acht\s+lassen|hinter\s+sich\s+lassen"
_RULES = (
    r"instructions?|prompts?|rules|orders|commands|guidelines|richtlinien|anweisung\w*|"
    r"befehl\w*|regeln|vorgaben|aufgaben?|informationen|instrucciones|reglas|consignes|regles"
)
"""What a verb-last ignore (`die obigen Anweisungen ignorieren`) must name: "die haben es
bestimmt vergessen" (they surely forgot) is not an instruction to the model."""
_PREVIOUS = r"previous|prior|above|earlier|bisherig\w*|vorherig\w*|obig\w*|anterior\w*|precedent\w*"
CUES: tuple[tuple[str, str], ...] = (
    (
        rf"\b(?:{_IGNORE})\b[^.!?\n]{{0,50}}?\b(?:{_EARLIER})\b"
        r"|\b(?:ignor\w*|disregard\w*)\s+(?:everything|all\s+of\s+it|alles|todo|tout)\b"
        rf"|\b(?:{_PREVIOUS}|alle|all|die|the)\s[^.!?\n]{{0,40}}?\b(?:{_RULES})\b"
        rf"[^.!?\n]{{0,20}}?\b(?:{_IGNORE_LATE})\b"
        rf"|\b(?:{_PREVIOUS})\b[^.!?\n]{{0,50}}?\b(?:irrelevant|no\s+longer\s+(?:apply|valid|"
        r"matter)|nicht\s+mehr\s+(?:gultig|relevant|wichtig)|ungultig|ne\s+(?:comptent|"
        r"s.appliquent)\s+plus|ya\s+no\s+(?:aplican|valen|son\s+validas))\b"
        r"|\b(?:despite|regardless\s+of|no\s+matter)\s+(?:what|any|your)\b[^.!?\n]{0,30}?"
        r"\b(?:told|instructions|rules|guidelines|programming)\b"
        r"|\btrotz\s+(?:deiner|ihrer|der)\s+(?:anweisungen|regeln|vorgaben)\b"
        r"|\ba\s+pesar\s+de\s+(?:tus|sus|las)\s+(?:instrucciones|reglas)\b"
        r"|\bmalgre\s+(?:tes|vos|les)\s+(?:instructions|regles|consignes)\b",
        "asks to ignore or forget earlier instructions",
    ),
    (
        r"\b(?:system\s*prompt|your\s+(?:hidden\s+|secret\s+|initial\s+|original\s+)?"
        r"(?:prompt|instructions|rules|guidelines)|(?:hidden|secret|initial|internal)\s+"
        r"(?:instructions|prompt|rules)|prompt\s*_?\s*texte?s?|"
        r"deine\s+(?:anweisungen|regeln|vorgaben|richtlinien)|ihre\s+anweisungen|"
        r"tus\s+(?:instrucciones|reglas)|tes\s+(?:instructions|regles|consignes)|"
        r"vos\s+(?:instructions|regles|consignes))\b",
        "asks for the prompt or instructions",
    ),
    (
        r"\b(?:no|without|free\s+(?:of|from)|not\s+bound\s+by|no\s+longer\s+bound\s+by|beyond)"
        r"\s+(?:any\s+|the\s+|your\s+)?(?:restrictions?|limits|limitations|filters?|censorship|rules|"
        r"guidelines|content\s+polic(?:y|ies)|ethics|morals?|guardrails|safety\s+\w+)\b"
        r"|\b(?:disable|turn\s+off|switch\s+off|bypass|remove)\s+(?:your\s+|the\s+|all\s+)?"
        r"(?:safety|filters?|guardrails|restrictions|content\s+filter)\b"
        r"|\b(?:safety|content)\s+(?:filters?|layer|training)\s+(?:are\s+|is\s+)?"
        r"(?:off|disabled|switched\s+off|turned\s+off)\b"
        r"|\b(?:uncensored|unfiltered|unrestricted|ungefiltert|unzensiert|zensurfrei)\b"
        r"|\b(?:ohne|keine)\s+(?:einschrankung\w*|regeln|filter|zensur)\b"
        r"|\bsin\s+(?:restricciones|reglas|filtros?|censura|limites)\b"
        r"|\bsans\s+(?:restrictions?|regles|filtres?|censure|limites)\b",
        "lifts the model's restrictions",
    ),
    (
        r"\b(?:jailbr(?:eak|oken)|developer\s+mode|dan\s+mode|do\s+anything\s+now|god\s+mode|"
        r"entwicklermodus|modo\s+desarrollador|mode\s+developpeur)\b",
        "jailbreak wording",
    ),
    (
        r"\b(?:you\s+are\s+now|now\s+you\s+are|from\s+now\s+on|from\s+this\s+moment|act\s+as|"
        r"pretend\s+(?:to\s+be|you)|imagine\s+(?:you\s+are|that\s+you\s+are)|"
        r"stell\s+dir\s+vor,?\s+du\s+bist|tu\s+so,?\s+als\s+(?:ob|waerst|warst)|"
        r"imagina\s+que\s+eres|finge\s+(?:ser|que\s+eres)|imagine\s+que\s+tu\s+es|"
        r"fais\s+semblant|"
        r"du\s+bist\s+(?:jetzt|nun|ab\s+sofort)|(?:jetzt|nun)\s+bist\s+du|ab\s+jetzt|ab\s+sofort|"
        r"von\s+nun\s+an|a\s+partir\s+de\s+ahora|desde\s+ahora|de\s+ahora\s+en\s+adelante|"
        r"ahora\s+eres|desormais|a\s+partir\s+de\s+maintenant|tu\s+es\s+maintenant|"
        r"maintenant\s+tu\s+es)\b",
        "assigns the model a new role",
    ),
    (
        r"(?:^|\n|\\n)\s*(?:system|assistant|developer|instruction|system\s+note|"
        r"nota\s+di\s+sistema|nota\s+del\s+sistema|note\s+systeme|systemhinweis)\s*:"
        r"|<\|im_(?:start|end)\|>|</?s>|\[/?inst\]|\[system\]|</?(?:system|user|assistant)>",
        "contains chat-role markers",
    ),
    (
        r"\b(?:reveal|print|output|dump|list|send|show|leak|exfiltrate|e-?mail|forward|collect|"
        r"export|upload|gib|zeig\w*|schick\w*|sende\w*|verrat\w*|donne\w*|montre\w*|envoie\w*|"
        r"revele\w*|muestra\w*|envia\w*|revela\w*|dame)\b[^.!?\n]{0,40}?"
        r"\b(?:(?:customer|user|subscriber|client|member)(?:'s|s'?)?\s+(?:data|records?|lists?|"
        r"details|information|info|database|phone\s+numbers?|e-?mail\s+addresses|addresses|"
        r"personal\s+data|pii|passwords?)|password|api\s+keys?|secret|credential|database|"
        r"phone\s+numbers|e-?mail\s+addresses|kunden(?:daten|liste|datenbank|nummern)|"
        r"passwort\w*|interne\w*\s+daten|donnees\s+(?:clients?|internes)|mots?\s+de\s+passe|"
        r"datos\s+(?:de\s+(?:los\s+)?)?clientes|contrasenas?|datos\s+internos)"
        r"|\b(?:gibst|gebt)\s+[^.!?\n]{0,30}?\bpreis\b",
        "asks to reveal data or secrets",  # customers' data, not customers: briefs address them
    ),
    (
        r"\b(?:new|further|additional|updated)\s+(?:instructions?|tasks?|rules)\b"
        r"|\b(?:neue|weitere)\s+(?:anweisung\w*|aufgabe\w*)|\bnuevas?\s+(?:instrucciones|tareas?)\b"
        r"|\bnouvelles?\s+(?:instructions|taches?|consignes)\b",
        "announces new instructions",
    ),
    (
        r"\b(?:just|only|instead|simply)\s+(?:say|output|print|write|answer)\b(?!\s+the\s+word\b)"
        r"|\brepeat\s+after\s+me\b|\bsprich\s+mir\s+nach\b|\brepite\s+despues\s+de\s+mi\b"
        r"|\brepete[sz]?\s+apres\s+moi\b"
        r"|\b(?:sag|sage|sagen\s+sie|antworte|antworten\s+sie|schreib|schreibe)\s+"
        r"(?:nur|stattdessen|ausschliesslich)\b"
        r"|\b(?:dis|dites|reponds|repondez|ecris)\s+(?:seulement|uniquement)\b"
        r"|\b(?:solo|solamente)\s+(?:di|dime|diga|decir|escribe)\b",
        "dictates the output",
    ),
    (
        r"(?:^|[.!?]\s*|\n)(?:stop|stopp|halt|achtung|attention|atencion)\s*(?:[-:!]+|everything)"
        r"|\b(?:stop|stopp)\s*[-:!]+\s*(?:write|schreib\w*|ecri\w*|escrib\w*|say|sag\w*)\b",
        "interrupts the task (`STOP - write …`)",
    ),
    (
        r"\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?(?:send_|http_|delete_|read_|"
        r"write_|fetch_|get_|post_|exec_|run_|create_|update_|remove_|upload_|download_|list_|"
        r"query_|search_|transfer_|shell_|file_|web_|browser_|sql_)[a-z_]*"
        r"(?:\s+(?:tool|function))?(?:\s+(?:to|on|with|and)\b|\s*\()",
        "asks to call a tool (`call delete_file on …`)",  # found by the `tool_` part, rare in copy
    ),
)
_CORRECTION = re.compile(
    r"\b(?:ignor\w*|disregard\w*|forget|vergessen\s+sie|olvid\w*|oubli\w*)\b[^.!?\n]{0,20}?"
    r"\b(?:my|our|the|meine|unsere|die|mon|notre|le|la|mi|nuestro|el)\s+"
    r"(?:previous|last|earlier|prior|vorherige|letzte|fruhere|precedent|dernier|anterior|ultimo)?\s*"
    r"(?:e-?mail|message|mail|letter|text|sms|note|order|invoice|reminder|nachricht|brief|"
    r"bestellung|rechnung|courriel|lettre|commande|facture|mensaje|correo|pedido|factura)"
)
"""An ordinary correction (`please ignore my previous e-mail`): a feature that speaks against
an injection, learnt like the cues but never a reason."""
_CUES = tuple((re.compile(p), why) for p, why in CUES)
_CUE_GATE = LiteralGate((i, p) for i, (p, _) in enumerate(CUES))
"""Which cues can match, from the literals each needs, found in one pass before any regex."""


def _cues(norm: str) -> list[int]:
    """Indices of the cues found in normalised text."""
    return [i for i in sorted(_CUE_GATE.keys_in(norm)) if _CUES[i][0].search(norm)]


_WORD = re.compile(r"\w+")
_LEET_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[013457])\w+\b")
_LEET = str.maketrans("013457", "oieast")
_SPACED = re.compile(r"(?<!\w)(?:\w[ .*_-]){3,}\w(?!\w)")
_EVASION = re.compile(r"(?<!\w)(?:\w ){8,}\w(?!\w)")
"""A sentence spelled out letter by letter (`S a y t h a t …`): scored as an injection in
untrusted fields, but not a cue for copy (`S U M M E R  S A L E` is a design choice there)."""
_SPACE_SEP = re.compile(r"[ .*_-]")


_SPACING = char_table("x", (string.ascii_letters + string.digits + "?", "w"), (" .*-", "s"))
"""Letters and digits → `w`, the separators of `_SPACED` → `s`."""


def may_be_spaced(text: str) -> bool:
    """False when no four single characters alternate with separators (`i g n o`): a cheap
    test before `_SPACED` (`_`, both a word character and a separator, always passes)."""
    return "_" in text or b"wswswsw" in text.encode("ascii", "replace").translate(_SPACING)


_SEGMENT = re.compile(r"(?<=[.!?:])\s+|\n+|\\n")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}:?){8,}")
_BYTE_SEP_CHARS = " \t\n\r\f\v.,;:/|_-"  # ASCII only, like `_BYTE_CLASSES`
_BYTE_SEP = f"[{re.escape(_BYTE_SEP_CHARS)}]+"
_HEX_PREFIX = "0[xX]"
"""What stands between bytes written one by one (`69 67`, `69;67`, `69 / 67`), and what may
stand before each in hex (`0x69`, `0X69`, `0x690x67` without a separator)."""
_SPACED_HEX = re.compile(
    rf"(?<![0-9A-Za-z])(?:(?:{_HEX_PREFIX})?[0-9A-Fa-f]{{2}}"
    rf"(?:{_BYTE_SEP}|(?={_HEX_PREFIX}))){{7,}}(?:{_HEX_PREFIX})?[0-9A-Fa-f]{{2}}(?![0-9A-Za-z])"
)
_SPACED_BINARY = re.compile(rf"(?<![0-9])(?:[01]{{8}}{_BYTE_SEP}){{7,}}[01]{{8}}(?![0-9])")
"""Eight or more bytes written one by one, in hex (`69 67 6e 6f`, `0x69.0x67`) or in binary
(`01101001 01100111`), between separators (`_BYTE_SEP`)."""
_BYTE_SPLIT = re.compile(f"{_BYTE_SEP}|{_HEX_PREFIX}")
_BYTE_CLASSES = char_table("w", (string.hexdigits, "h"), ("xX", "x"), (_BYTE_SEP_CHARS, "s"))
"""A byte table for `str.encode("ascii", "replace").translate`: hex digits → `h`, the `x` of
`0x` → `x`, the separators of bytes written one by one (`_BYTE_SEP`) → `s`, anything else →
`w`."""
_BYTE_TOKENS = re.compile(rb"s(?:hx)?hh(?:h{6})?s+(?:hx)?hh(?:h{6})?s|hxhhhxhh")
"""Two byte-sized tokens between separators (or two `0x` bytes without one), in `_BYTE_CLASSES`
bytes: every run of eight bytes has them (its second and third)."""


def _may_hold_bytes(text: str) -> bool:
    """False when `text` has no two byte-sized tokens in a row (`69 67`, `0x69 0x67`,
    `01101001 01100111`): a cheap test before the regexes of `_SPACED_ENCODINGS`."""
    classes = text.encode("ascii", "replace").translate(_BYTE_CLASSES)
    return _BYTE_TOKENS.search(classes) is not None


_ASCII85 = re.compile(r"<~(.{10,}?)~>")
_BASE85 = re.compile(r"[0-9A-Za-z!#$%&()*+;<=>?@^_`{|}~-]{20,}")
_BASE32 = re.compile(r"[A-Z2-7]{16,}={0,6}")
_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}){4,}")
_FUNCTION_WORDS = (
        "the", "and", "you", "your", "all", "this", "what", "previous", "instructions",
        "ignore", "prompt", "system", "show", "tell", "write", "say", "reply", "any", "rules",
)  # fmt: skip
_ROT13_WORDS = frozenset(codecs.encode(w, "rot13") for w in _FUNCTION_WORDS)
"""ROT13 of words that an English instruction can hardly do without (`the`, `and`, `you`,
`all`, `instructions`, …): two different ones mark a text worth reading in ROT13."""
_REVERSED_WORDS = frozenset(w[::-1] for w in _FUNCTION_WORDS)
"""The same words spelled backwards: two mark a text worth reading backwards."""
_ENCODED_WORDS = _ROT13_WORDS | _REVERSED_WORDS


class InjectionScore(BaseModel):
    """How much a text looks like a prompt injection."""

    score: float = Field(ge=0, le=1)
    """0 (plain data) to 1 (certainly instructions)."""
    hit: bool
    """True when the score reaches the model's threshold."""
    reasons: list[str] = Field(default_factory=list)
    """What was found, in words, strongest first."""
    named: bool = False
    """True when a named move (one of the `CUES`, or an evasion trick) was found, not only the
    classifier's reading: what a text that is instructions by nature (a brief) is judged on."""


def normalise(text: str) -> str:
    """Folded text (case, accents, look-alikes), leetspeak read as letters inside words,
    single letters spaced out joined, typos of `KEYWORDS` corrected."""
    t = fold(text[:_MAX_CHARS])
    if mixes_letters_and_digits(t):
        t = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), t)
    if may_be_spaced(t):
        t = _SPACED.sub(lambda m: _SPACE_SEP.sub("", m.group()), t)
    return _TYPO_CANDIDATE.sub(lambda m: _typo_of(m.group()) or m.group(), t)


# Words the detector reads through typos (`igmre`, `instrucitons`): a word within two edits of
# one of these, with the same first and last letter, also counts as that word.
KEYWORDS = (
    "ignore", "disregard", "forget", "previous", "instructions", "instruction", "prompt",
    "system", "override", "bypass", "reveal", "restrictions", "developer", "jailbreak",
    "pretend", "ignoriere", "vergiss", "anweisungen", "vorherigen", "ignorez", "oublie",
    "precedentes", "olvida", "instrucciones", "anteriores", "ignora", "consignes",
)  # fmt: skip
_KEYWORDS = frozenset(KEYWORDS)
_NOT_TYPOS = frozenset(
    [
        "forest",
        "format",
        "profit",
        "rental",
        "renewal",
        "overtime",
        "rebel",
        "revival",
        "ignite",
        "forfeit",
        "infra",
        "virgins",
        "badass",
        "previews",
        "systems",
        "prompts",
        "planet",
        "reveals",
    ]
)
"""Real words within two edits of a keyword (found in the SMS and copy corpora)."""


def _candidates() -> re.Pattern[str]:
    """Words that could be a typo of a keyword: same first and last letter, length ±2."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for k in KEYWORDS:
        lo, hi = spans.get((k[0], k[-1]), (len(k), len(k)))
        spans[(k[0], k[-1])] = (min(lo, len(k)), max(hi, len(k)))
    # grouped by first letter (`a(?:…n|…s)`): a third faster than one alternative per pair
    by_first: dict[str, list[str]] = {}
    for (a, b), (lo, hi) in sorted(spans.items()):
        by_first.setdefault(a, []).append(f"[a-z]{{{max(3, lo - 4)},{hi}}}{b}")
    alts = [a + "(?:" + "|".join(rest) + ")" for a, rest in by_first.items()]
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


_TYPO_CANDIDATE = _candidates()


@lru_cache(maxsize=65536)
def _typo_of(word: str) -> str | None:
    """The keyword a word is a typo of, if any."""
    if len(word) < 5 or word in _KEYWORDS or word in _NOT_TYPOS or not word.isalpha():
        return None
    for k in KEYWORDS:
        near = k[0] == word[0] and k[-1] == word[-1] and abs(len(k) - len(word)) <= 2
        if near and _edits(word, k) <= 2:
            return k
    return None


def _edits(a: str, b: str) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap neighbours)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode()) & (DIM - 1)


def features(text: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Hashed feature indices and values of a text (n-grams L2-normalised, each cue found
    adds 1), and the indices of the cues found."""
    t = normalise(text)
    counts: dict[int, float] = {}
    words = _WORD.findall(t)
    for i, w in enumerate(words):
        counts[_h("w:" + w)] = counts.get(_h("w:" + w), 0.0) + 1.0
        if i:
            b = _h("b:" + words[i - 1] + " " + w)
            counts[b] = counts.get(b, 0.0) + 1.0
        padded = "<" + w[:20] + ">"
        for n in (3, 4, 5):
            for j in range(len(padded) - n + 1):
                k = _h(padded[j : j + n])
                counts[k] = counts.get(k, 0.0) + 1.0
    idx = np.fromiter(counts, dtype=np.int64, count=len(counts))
    val = np.log1p(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    norm = float(np.sqrt((val * val).sum())) or 1.0
    val = val / norm
    cues = _cues(t)
    if _CORRECTION.search(t):
        idx = np.concatenate([idx, [_h("anti:correction")]])
        val = np.concatenate([val, [1.0]])
    if cues:
        idx = np.concatenate([idx, [_h(f"cue:{i}") for i in cues]])
        val = np.concatenate([val, np.ones(len(cues))])
    return idx, val, cues


class _Model:
    """Weights over the hashed space, a bias and the decision threshold."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise FileNotFoundError(
                f"injection model weights not found at {path}; run "
                "`python -m evals.train_injection` to rebuild them"
            )
        with np.load(path) as z:
            self.w = np.zeros(DIM, dtype=np.float64)
            self.w[z["idx"]] = z["val"].astype(np.float64)
            self.bias = float(z["bias"])
            self.threshold = float(z["threshold"])

    def logit(self, idx: np.ndarray, val: np.ndarray) -> float:
        return float(self.w[idx] @ val) + self.bias


@lru_cache(maxsize=1)
def _model() -> _Model:
    return _Model(MODEL_PATH)


def threshold() -> float:
    """The probability at or above which text counts as an injection (chosen in training)."""
    return _model().threshold


def score(text: str | None) -> InjectionScore:
    """Score one untrusted text (memoised: names and traits repeat across a large audience)."""
    return _score(text).model_copy(deep=True)


_MAX_DEPTH = 2
"""How deep decoding goes: an encoding inside an encoding is read, no deeper. ROT13 and
reversal undo themselves, so decoding without a bound would never end."""


@lru_cache(maxsize=65536)
def _score(text: str | None, depth: int = 0) -> InjectionScore:
    if not text or len(text.strip()) < 4:
        return InjectionScore(score=0.0, hit=False)
    m = _model()
    idx, val, cues = features(text)
    logit = m.logit(idx, val)
    for part in segments(text):  # an injection appended to harmless text is not diluted by it
        logit = max(logit, m.logit(*features(part)[:2]))
    p = float(1.0 / (1.0 + np.exp(-logit)))
    if evasive(text):
        cues = [*cues, -1]
        p = max(p, m.threshold)
    reasons = [
        why
        for _, why in sorted(
            (
                (m.w[_h(f"cue:{i}")], _CUES[i][1])
                if i >= 0
                else (np.inf, "letters spaced out (a filter-evasion trick)")
                for i in cues
            ),
            key=lambda x: -x[0],
        )
    ]
    named = bool(cues)
    for how, plain in decoded(text) if depth < _MAX_DEPTH else ():
        inner = _score(plain, depth + 1)  # what an encoded span hides scores as the text
        if inner.hit:
            reasons.insert(0, f"hides instructions in {how} (`{plain[:60]}`)")
            named = named or inner.named
        p = max(p, inner.score)
    hit = p >= m.threshold
    if hit and not reasons:
        reasons = ["reads like instructions to an AI (trained classifier)"]
    return InjectionScore(score=round(p, 4), hit=hit, reasons=reasons, named=named)


def decoded(text: str) -> list[tuple[str, str]]:
    """(encoding, decoded text) of each span of `text` that decodes to readable text: base64
    (standard or URL-safe), base32, hex, ASCII85 (`<~…~>`), base85 and `\\u0049`-style escape
    sequences inside a run of 16 or more characters without a space; eight or more bytes written
    one by one in hex or binary between separators (`69 67 6e 6f 72 65`, `0x69.0x67`); the whole
    text in ROT13, or backwards, when it has two different function words so encoded. Cheap on
    ordinary text: only runs without a space, and runs of byte-sized tokens, are looked into."""
    t = text[:_MAX_CHARS]
    words = t.lower().split()
    out: list[tuple[str, str]] = []
    if not words:
        return out
    if max(map(len, words)) >= 16:  # rare in ordinary text: only then the case-kept runs
        for run in (w for w in t.split() if len(w) >= 16):
            out += _decoded_run(run)
    if _may_hold_bytes(t):
        out += _decodings(_SPACED_ENCODINGS, t)
    if _ENCODED_WORDS.isdisjoint(words):
        return out
    if len(_ROT13_WORDS.intersection(words)) >= 2:
        out.append(("ROT13", codecs.encode(t, "rot13")))
    if len(_REVERSED_WORDS.intersection(words)) >= 2:
        out.append(("reversed text", t[::-1]))
    return out


@lru_cache(maxsize=4096)
def _decoded_run(run: str) -> tuple[tuple[str, str], ...]:
    """`_decodings` of a run without spaces (memoised: the links that make most such runs in
    copy repeat between lines)."""
    return _decodings(_ENCODINGS, run)


def _decodings(
    encodings: Sequence[tuple[str, re.Pattern[str], Callable[[str], bytes]]], text: str
) -> tuple[tuple[str, str], ...]:
    """(encoding, decoded text) of each span of `text` that one of `encodings` matches (its
    last group, or the whole match) and that decodes to readable text."""
    return tuple(
        (how, plain)
        for how, pattern, decode in encodings
        for m in pattern.finditer(text)
        if (plain := _readable(decode, m.group(m.lastindex or 0)))
    )


def _b64(raw: str) -> bytes:
    raw = raw.rstrip("=").translate(_URLSAFE)
    raw = raw[:-1] if len(raw) % 4 == 1 else raw  # a cut-off tail is left out
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def _b32(raw: str) -> bytes:
    raw = raw.rstrip("=")
    return base64.b32decode(raw[: len(raw) // 8 * 8])  # a cut-off tail is left out


def _escapes(raw: str) -> bytes:
    return raw.encode("ascii").decode("unicode_escape").encode("utf-8")


def _hex(raw: str) -> bytes:
    digits = raw.replace(":", "")
    return bytes.fromhex(digits[: len(digits) // 2 * 2])


def _bytes_in(base: int) -> Callable[[str], bytes]:
    """A decoder of bytes written one by one in `base`, between separators."""

    def decode(raw: str) -> bytes:
        return bytes(int(u, base) for u in _BYTE_SPLIT.split(raw) if u)

    return decode


_URLSAFE = str.maketrans("-_", "+/")
_ENCODINGS: tuple[tuple[str, re.Pattern[str], Callable[[str], bytes]], ...] = (
    ("base64", _BASE64, _b64),
    ("base32", _BASE32, _b32),
    ("escape sequences", _ESCAPES, _escapes),
    ("hex", _HEX, _hex),
    ("ASCII85", _ASCII85, base64.a85decode),
    ("base85", _BASE85, base64.b85decode),
)
_SPACED_ENCODINGS: tuple[tuple[str, re.Pattern[str], Callable[[str], bytes]], ...] = (
    ("hex", _SPACED_HEX, _bytes_in(16)),
    ("binary", _SPACED_BINARY, _bytes_in(2)),
)


def _readable(decode: Callable[[str], bytes], raw: str) -> str | None:
    """`decode(raw)` as UTF-8 text when it is readable (words, few control characters)."""
    try:
        plain = decode(raw).decode("utf-8")
    except (ValueError, binascii.Error):
        return None
    printable = sum(c.isprintable() or c in "\n\t" for c in plain)
    if printable < 0.95 * len(plain) or not _WORDS_2.search(plain):
        return None
    return plain


_WORDS_2 = re.compile(r"[^\W\d_]{2,}[\s,.:;]+[^\W\d_]{2,}")


def segments(text: str) -> list[str]:
    """The sentences and lines of a text that are scored on their own besides the whole (none
    when the text is one sentence)."""
    parts = [s for s in _SEGMENT.split(text[:_MAX_CHARS]) if len(s.split()) >= 3]
    return parts if len(parts) > 1 else []


def evasive(text: str) -> bool:
    """True when a sentence is spelled out letter by letter (scored as an injection)."""
    return _EVASION.search(text) is not None


def is_injection(text: str | None) -> bool:
    """True when `score(text).hit`."""
    return _score(text).hit


@per_kit
def line_memo(kit: BrandKit) -> LineMemo[Sequence[Finding]]:
    """Per-line memo of `injection.instructions` (the same for every kit)."""
    return LineMemo(_scan_line)


def check(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    """`injection.instructions`: a line of the copy (or two lines read across their break)
    that reads as instructions to an AI (`SYSTEM: disregard prior rules and …`): the
    classifier's score reaches the threshold and at least one of the `CUES` is present."""
    return scan_lines(line_memo(kit), msg, across_lines=True)


def _decoded_cue(text: str, depth: int = 0) -> bool:
    """True when an encoded span of the text decodes to text with one of the `CUES`."""
    return depth < _MAX_DEPTH and any(
        _cues(normalise(plain)) or _decoded_cue(plain, depth + 1) for _, plain in decoded(text)
    )


def _scan_line(text: str, field: Part) -> tuple[Finding, ...]:
    if not _cues(normalise(text)) and not _decoded_cue(text):
        return ()  # copy blocks only on a named move (a cue), not on the classifier alone
    s = _score(text)
    if not s.hit:
        return ()
    span = text.strip()
    return (
        Finding(
            rule_id="injection.instructions",
            severity=Severity.BLOCK,
            span=span if len(span) <= 160 else span[:157] + "…",
            explanation=(
                f"This reads as instructions to an AI, not as copy for a person (score "
                f"{s.score:.2f}; {'; '.join(s.reasons[:2])}). Text like this usually comes from "
                "an injected brief or profile field and must not be sent."
            ),
            suggested_fix="Remove the instruction and check where the text came from.",
            field=field,
        ),
    )
