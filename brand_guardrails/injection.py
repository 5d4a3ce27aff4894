"""Prompt-injection detector for untrusted text (briefs, names, notes, reviews, addresses).

Deterministic: weighted patterns in English and German (plus a few other languages seen in
the wild) for the moves injections make — overriding earlier instructions, asking for the
prompt, assigning a new role, forcing an output, smuggling chat-role markers. Each pattern
has a weight; the score is 1 − Π(1 − wᵢ) over the patterns found, and `hit` means score ≥ 0.5.
It runs in microseconds and needs no model. Measured in the eval report on a held-out half of
the deepset prompt-injections data (the other half was the only part read while writing it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pydantic import BaseModel, Field

THRESHOLD = 0.5
"""Score at or above which text counts as an injection."""

_OVERRIDE_EN = (
    r"(?:ignore|disregard|forget|drop|skip|override|bypass|abandon|leave)"
    r"\b[^.!?\n]{0,40}?\b(?:instructions?|prompts?|rules|orders|commands|directions|"
    r"assignments|tasks|guidelines|previous|prior|above|preceding|information)\b"
)
_OVERRIDE_DE = (
    r"(?:ignorier\w*|vergiss|vergessen\s+sie|missachte\w*|lass\w*\s+sie\s+alle)"
    r"\b[^.!?\n]{0,40}?\b(?:anweisung\w*|befehl\w*|aufgabe\w*|auftr[äa]g\w*|instruktion\w*|"
    r"vorherig\w*|obig\w*|bisherig\w*|vorangehend\w*|information\w*)"
)

_PATTERNS: list[tuple[str, float, str]] = [
    # overriding what came before
    (_OVERRIDE_EN, 0.9, "asks to ignore or forget earlier instructions"),
    (_OVERRIDE_DE, 0.9, "asks to ignore or forget earlier instructions (German)"),
    (r"\b(?:forget|ignore)\s+(?:about\s+)?(?:everything|all)\b", 0.45, "asks to forget everything"),
    (r"\bvergiss\s+alles\b", 0.7, "asks to forget everything (German)"),
    (
        r"\b(?:previous|prior|above|preceding|earlier|original)\s+(?:instructions?|prompts?|"
        r"tasks|orders|commands|information|assignments|directions)\b",
        0.6,
        "refers to the previous instructions",
    ),
    (
        r"\b(?:vorherig|obig|bisherig|vorangehend)\w*\s+(?:anweisung|befehl|aufgabe|"
        r"instruktion|information)\w*",
        0.6,
        "refers to the previous instructions (German)",
    ),
    (r"\babweichend\s+zu\s+vorherigen\b", 0.9, "overrides earlier instructions (German)"),
    (
        r"\b(?:now\s+)?(?:focus|concentrate)\s+on\s+(?:your|the)\s+new\s+task\b"
        r"|\bnew\s+(?:tasks?|instructions?|assignments?)\s+(?:follow|are\s+followed)\b"
        r"|\bfurther\s+tasks\s+(?:follow|are\s+followed)\b",
        0.8,
        "announces a new task",
    ),
    (
        r"\bkonzentriere\s+dich\s+(?:jetzt\s+)?auf\s+deine\s+neue\s+aufgabe\b"
        r"|\bnun\s+folgen\s+(?:neue|weitere)\s+(?:anweisungen|aufgaben)\b",
        0.8,
        "announces a new task (German)",
    ),
    (r"\bstart\s+over\b|\bfang\w*\s+von\s+vorne\b", 0.3, "asks to start over"),
    # asking for the prompt
    (
        r"\b(?:system\s+prompt|prompt[\s_-]?texts?|your\s+(?:prompt|instructions|rules)|"
        r"initial\s+instructions|what\s+(?:is|was)\s+written\s+(?:above|at\s+the\s+beginning))",
        0.7,
        "asks for the prompt or instructions",
    ),
    (r"\bprompt-?texte?\b|\bdeine\s+anweisungen\b", 0.7, "asks for the prompt (German)"),
    # assigning a new role
    (r"\bi\s+want\s+you\s+to\s+act\s+as\b", 0.8, "assigns the model a role"),
    (r"\bich\s+m[öo]chte,?\s+dass\s+(?:sie|du)\s+als\b", 0.8, "assigns a role (German)"),
    (
        r"\bact\s+as\s+(?:a|an)\s+(?:\w+\s+)?(?:terminal|interpreter|translator|console|"
        r"assistant|ai|chatbot)\b",
        0.7,
        "assigns the model a role",
    ),
    (
        r"\bpretend\s+(?:you|to\s+be|that\s+you)\b|\bimagine\s+you\s+are\b|\byou\s+are\s+now\b"
        r"|\bfrom\s+now\s+on,?\s+you\b|\brole[\s-]?play",
        0.6,
        "assigns the model a role",
    ),
    (
        r"\b(?:jetzt|nun)\s+bist\s+du\b|\bdu\s+bist\s+(?:jetzt|nun)\b|\bstell\s+dir\s+vor,?\s+du"
        r"|\bdu\s+bist\s+(?:zeit|spiegel|keine)\b",
        0.6,
        "assigns a role (German)",
    ),
    (r"\bDAN\s+mode\b|\bjailbr(?:eak|oken)\b|\bdeveloper\s+mode\b", 0.9, "jailbreak wording"),
    (r"\byou\s+are\s+(?:the|a|an)\s+(?!customer|winner)\w+", 0.25, "tells the model what it is"),
    # forcing an output
    (
        r"\bjust\s+(?:say|output|print|write)\b|\bdo\s+not\s+(?:answer|look)\b"
        r"|\bdon'?n?t\s+answer\b|\binstead\s+(?:print|output|say|write)\b",
        0.7,
        "forces a specific output",
    ),
    (
        r"\b(?:output|print|say|repeat\s+after\s+me|spell\s+check\s+and\s+display)\b\s*[:\"'“]",
        0.5,
        "forces a specific output",
    ),
    (r"\b(?:execute|run)\s+the\s+following\s+(?:command|code)\b", 0.7, "asks to run code"),
    (r"\bgeben\s+sie\s+stattdessen\b|\bschreibe\s+nun\b", 0.5, "forces an output (German)"),
    (r"\b(?:stop|stopp|achtung)\s*[:\-–]", 0.4, "interrupts with a command word"),
    (
        r"\b(?:additional|new|further)\s+instructions?\b|\byour\s+instructions\s+are\s+now\b",
        0.6,
        "adds instructions",
    ),
    # smuggled structure
    (
        r"(?:^|\n)\s*(?:system|assistant|human|user)\s*:|<\|im_(?:start|end)\|>|</?s>|\[/?INST\]",
        0.6,
        "contains chat-role markers",
    ),
    (r"(?:\\\s?n\s*){4,}", 0.5, "contains escaped line breaks"),
    (r"\$(?:term|documents?)\d*\s*[:=]|\bcontext\s*:\s*\{", 0.5, "defines prompt variables"),
    (r"\bnow\s+you\s+are\b|\brepeat\s+after\s+me\b", 0.6, "assigns a role or a script"),
    (
        r"\b(?:actors?|characters?|roles?)\s+in\s+a\s+(?:film|movie|play|scene)\b"
        r"|\bin\s+einem\s+film\b[^.]{0,80}\b(?:rolle|figur|spielen)\w*"
        r"|\b(?:film|movie)\s+about\b[^.]{0,80}\b(?:plays?|character|role)\b",
        0.6,
        "sets up a role-play scene",
    ),
    (
        r"\b(?:well\s+done|very\s+good|excellent(?:\s+performance)?|that\s+is\s+(?:enough|done)|"
        r"sehr\s+gut(?:\s+gemacht)?|das\s+(?:genügt|ist\s+erledigt)|ausgezeichnet\w*)"
        r"[.!]+\s+(?:\w+\s+){0,4}?(?:now|nun|jetzt)\b",
        0.5,
        "praises, then pivots to a new request",
    ),
    (r"\b(?:stop|stopp)\s*:\s*(?:write|say|print|schreib\w*)", 0.7, "interrupts with a command"),
    (
        r"\bmake\s+something\s+up\b|\bnot\s+(?:by|from|according\s+to)\s+the\s+"
        r"(?:articles|documents|provided|context)\b|\bown\s+knowledge\b",
        0.6,
        "asks to leave the provided context",
    ),
    (r"\buntrue\s+headline\b|\bunwahre\s+überschrift\b", 0.6, "asks for a false statement"),
    (r"\bsay\s+(?:yes|no)\b|\bstate\s+that\b", 0.5, "dictates the answer"),
    # other languages
    (r"\bzaboravi\s+sve\b|\bзабуд\w*\s+вс\w*|\bolvid\w*\s+todo\b", 0.8, "asks to forget (other)"),
]

_COMPILED = [(re.compile(p, re.IGNORECASE), w, why) for p, w, why in _PATTERNS]
_SPACED = re.compile(r"(?<!\w)(?:\w ){8,}\w(?!\w)")


class InjectionScore(BaseModel):
    """How much a text looks like a prompt injection."""

    score: float = Field(ge=0, le=1)
    """0 (plain data) to 1 (certainly instructions)."""
    hit: bool
    """True when the score reaches the threshold."""
    reasons: list[str] = Field(default_factory=list)
    """What was found, in words, strongest first."""


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("\u200b", "")
    return text


def score(text: str | None) -> InjectionScore:
    """Score one untrusted text (memoised: names and traits repeat across a large audience)."""
    return _score(text).model_copy(deep=True)


@lru_cache(maxsize=65536)
def _score(text: str | None) -> InjectionScore:
    if not text or len(text.strip()) < 4:
        return InjectionScore(score=0.0, hit=False)
    norm = _normalise(text)
    found: list[tuple[float, str]] = []
    if _SPACED.search(norm):
        found.append((0.6, "letters spaced out (a filter-evasion trick)"))
    for rx, weight, why in _COMPILED:
        if rx.search(norm):
            found.append((weight, why))
    keep = 1.0
    reasons: list[str] = []
    for weight, why in sorted(found, reverse=True):
        keep *= 1 - weight
        if why not in reasons:
            reasons.append(why)
    s = round(1 - keep, 4)
    return InjectionScore(score=s, hit=s >= THRESHOLD, reasons=reasons)


def is_injection(text: str | None) -> bool:
    """True when `score(text).hit`."""
    return _score(text).hit
