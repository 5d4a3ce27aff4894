"""The guardrail eval: labelled copy → findings → per-family precision/recall and gates.

Datasets (`<datasets_dir>/guardrails.jsonl`), one JSON object per line:
`{"id", "channel", "subject"?, "body", "offer"?, "recipient"?, "sender"?, "footer"?,
"needs"?, "expect": "pass"|"warn"|"block", "rules": [rule ids]}`. Unless `"footer": false`,
the runner appends the system's compliance footer (with the case's offer) before checking, as
the send path does; cases about a missing footer set `"footer": false` and carry the final text
as is. Cases with `"needs": ["spam_words"]` need the shared spam word list and are skipped (and
listed as skipped) when it is absent.

With an LLM (`llm` on the OpenAI engine), it also has the content agent write copy for the
adversarial briefs and profiles in `adversarial.jsonl` and scores it (evals/adversarial.py);
offline that part is skipped and the report says so.

`false_blocks.jsonl` (same format, every case legitimate copy: newsletters, order and
shipping updates, offers with their disclaimers, in EN, DE, FR, ES and a few other
languages; ids start with the language) gives the false-block rate on ordinary copy. It was
written in this project, so its figure is optimistic.

With `shared_data`, it also scores the UCI SMS Spam Collection: every message gets the brand
prefix and STOP footer (ham lacks them, and they are not what is measured), and only the
content families (banned, claims, offer, tokens, links, privacy, voice) are counted — not SMS
structure (brand, STOP, segments). Ham blocked by them is a false block; spam blocked is recall.

`sealed_issue11.jsonl` (same format) holds copy written and committed before the creep and claims
rules of issue 11 were changed, and never used to tune them: creep attribution against hard
negatives, and claims in German, French, Spanish and Portuguese. Only the families it is about
(privacy: the creep guard, and claims) are counted, so other checks (subject lines, footers)
cannot move its figures. Written in this project: less optimistic than the rest, not real data.

It also scores the two guard models (evals/guard_models.py): the injection classifier on the
held-out half of every public source, and the creep guard per category on `creep.jsonl`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from brand_guardrails.checker import CopyToCheck, check_message, verdict
from brand_guardrails.checks import FAMILIES
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit
from core.models import Channel, Finding, Offer, Severity
from evals.adversarial import AdversarialReport, run_adversarial
from evals.guard_models import (
    CreepReport,
    InjectionEval,
    creep_failures,
    injection_failures,
    score_creep,
    score_injection,
)
from evals.scores import FamilyScore, finish, tally
from tools.llm import LLMClient

_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"
DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
"""The eval datasets shipped with the package (guardrails, injection, adversarial JSONL)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalCase(_Model):
    """One labelled piece of copy."""

    id: str
    """Unique case id."""
    channel: Channel
    """Channel."""
    subject: str | None = None
    """Subject (e-mail)."""
    body: str
    """Body, without footer unless `footer` is false."""
    offer: Offer | None = None
    """The campaign's offer."""
    recipient: dict[str, str] | None = None
    """The recipient's own fields as the send path passes them (`CopyToCheck.recipient`)."""
    sender: str | None = None
    """The From header (`Name <address>`), for sender checks."""
    footer: bool = True
    """Append the system's compliance footer before checking."""
    needs: list[Literal["spam_words"]] = Field(default_factory=list)
    """Data the case needs; without it the case is skipped (spam_words: the shared list)."""
    expect: Literal["pass", "warn", "block"]
    """Expected verdict."""
    rules: list[str] = Field(default_factory=list)
    """Expected rule ids."""


class CaseResult(_Model):
    """What the checks made of one case."""

    id: str
    """Case id."""
    expect: str
    """Expected verdict."""
    got: str
    """Actual verdict."""
    expected_rules: list[str]
    """Expected rule ids."""
    found_rules: list[str]
    """Rule ids found."""


class SmsSpamScore(_Model):
    """Content checks on the UCI SMS Spam Collection."""

    ham: int
    """Ham messages checked."""
    ham_blocked: int
    """Ham messages blocked by a content check."""
    ham_false_block_rate: float
    """ham_blocked / ham."""
    spam: int
    """Spam messages checked."""
    spam_blocked: int
    """Spam messages blocked by a content check."""
    spam_recall: float
    """spam_blocked / spam."""
    spam_flagged_rate: float
    """Share of spam with any content finding (block or warn)."""
    top_ham_rules: dict[str, int]
    """Rules behind ham blocks, most frequent first."""


class FalseBlockScore(_Model):
    """Legitimate copy (`false_blocks.jsonl`) that the checks blocked."""

    cases: int
    """Cases checked."""
    blocked: int
    """Cases blocked."""
    false_block_rate: float
    """blocked / cases."""
    cases_by_language: dict[str, int]
    """Cases per language (the id's prefix)."""
    blocked_cases: list[CaseResult] = Field(default_factory=list)
    """The blocked cases, with the rules that blocked them."""


class SealedScore(_Model):
    """The sealed set (`sealed_issue11.jsonl`), scored on the families it is about."""

    cases: int
    """Cases checked."""
    families: dict[str, FamilyScore]
    """Precision and recall per family (`privacy`, `claims`)."""
    false_block_rate: float
    """Share of legitimate cases blocked by one of those families."""
    recall: float
    """Share of cases to block whose expected family blocked them."""


_SEALED_FAMILIES = frozenset({"privacy", "claims"})


class EvalReport(_Model):
    """The result of an eval run, with its gates."""

    kit_id: str
    """Brand kit id."""
    kit_fingerprint: str
    """Brand kit fingerprint."""
    cases: int
    """Labelled cases run."""
    skipped: list[str] = Field(default_factory=list)
    """Cases skipped because data they need is absent (with the reason)."""
    notes: list[str] = Field(default_factory=list)
    """What this run did not measure, in words."""
    verdict_accuracy: float
    """Share of cases with the expected verdict."""
    false_block_rate: float
    """Share of legitimate cases (expected pass or warn) that were blocked."""
    families: dict[str, FamilyScore]
    """Per rule family."""
    false_blocks: FalseBlockScore | None = None
    """Blocks on legitimate copy (`false_blocks.jsonl`), when the dataset is present."""
    sms_spam: SmsSpamScore | None = None
    """SMS spam/ham scores, when the shared data was given."""
    injection: list[InjectionEval] = Field(default_factory=list)
    """Injection detection: the project's own cases and the held-out half of every public
    source available (evals/guard_models.py); the deepset train half for reference."""
    creep: CreepReport | None = None
    """The creep guard per category on `creep.jsonl` (written here: optimistic)."""
    sealed: SealedScore | None = None
    """The sealed set (`sealed_issue11.jsonl`), when the dataset is present."""
    generated: AdversarialReport | None = None
    """Copy the content agent wrote for adversarial briefs and profiles (skipped offline)."""
    mismatches: list[CaseResult] = Field(default_factory=list)
    """Cases whose verdict or rule families differ from the label."""
    passed: bool
    """True when every gate in thresholds.yaml holds."""
    failures: list[str] = Field(default_factory=list)
    """The gates that failed, in words."""


def load_cases(path: Path) -> list[EvalCase]:
    """Read a JSONL dataset; errors name the file and line."""
    out: list[EvalCase] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(EvalCase.model_validate(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path.name}:{n}: invalid case: {exc}") from exc
    return out


def _family(rule_id: str) -> str:
    return rule_id.split(".", 1)[0]


def _unsubscribe_url(kit: BrandKit) -> str:
    return kit.site_url.rstrip("/") + "/u/eval"


def _check_case(kit: BrandKit, case: EvalCase) -> list[Finding]:
    body = case.body
    if case.footer:
        body = apply_footer(kit, case.channel, body, _unsubscribe_url(kit), offer=case.offer)
    msg = CopyToCheck(
        channel=case.channel,
        subject=case.subject,
        body=body,
        offer=case.offer,
        recipient=case.recipient,
        sender=case.sender,
    )
    return check_message(kit, msg)


def _score_sms_spam(kit: BrandKit, path: Path) -> SmsSpamScore:
    content = [f.check for f in FAMILIES.values() if f.content]
    ham = ham_blocked = spam = spam_blocked = spam_flagged = 0
    ham_rules: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        label, _, text = line.partition("\t")
        if label not in ("ham", "spam") or not text.strip():
            continue
        body = apply_footer(kit, Channel.SMS, text, _unsubscribe_url(kit))
        msg = CopyToCheck(channel=Channel.SMS, body=body)
        findings = [f for check in content for f in check(kit, msg)]
        blocked = any(f.severity == Severity.BLOCK for f in findings)
        if label == "ham":
            ham += 1
            if blocked:
                ham_blocked += 1
                for f in findings:
                    if f.severity == Severity.BLOCK:
                        ham_rules[f.rule_id] = ham_rules.get(f.rule_id, 0) + 1
        else:
            spam += 1
            spam_blocked += blocked
            spam_flagged += bool(findings)
    return SmsSpamScore(
        ham=ham,
        ham_blocked=ham_blocked,
        ham_false_block_rate=ham_blocked / ham if ham else 0.0,
        spam=spam,
        spam_blocked=spam_blocked,
        spam_recall=spam_blocked / spam if spam else 0.0,
        spam_flagged_rate=spam_flagged / spam if spam else 0.0,
        top_ham_rules=dict(sorted(ham_rules.items(), key=lambda kv: -kv[1])),
    )


def _score_false_blocks(kit: BrandKit, path: Path) -> FalseBlockScore:
    cases = load_cases(path)
    blocked: list[CaseResult] = []
    languages: dict[str, int] = {}
    for case in cases:
        lang = case.id.split("-", 1)[0]
        languages[lang] = languages.get(lang, 0) + 1
        findings = _check_case(kit, case)
        if verdict(findings) == "block":
            rules = sorted({f.rule_id for f in findings if f.severity == Severity.BLOCK})
            blocked.append(
                CaseResult(
                    id=case.id,
                    expect=case.expect,
                    got="block",
                    expected_rules=[],
                    found_rules=rules,
                )
            )
    return FalseBlockScore(
        cases=len(cases),
        blocked=len(blocked),
        false_block_rate=len(blocked) / len(cases) if cases else 0.0,
        cases_by_language=languages,
        blocked_cases=blocked,
    )


def _score_sealed(kit: BrandKit, path: Path) -> SealedScore:
    families = {name: FamilyScore() for name in sorted(_SEALED_FAMILIES)}
    legit = legit_blocked = must = caught = 0
    cases = load_cases(path)
    for case in cases:
        blocks = {
            _family(f.rule_id) for f in _check_case(kit, case) if f.severity == Severity.BLOCK
        }
        got = blocks & _SEALED_FAMILIES
        want = {_family(r) for r in case.rules} & _SEALED_FAMILIES
        tally(families, want, got)
        if case.expect == "block":
            must += 1
            caught += bool(want & got)
        else:
            legit += 1
            legit_blocked += bool(got)
    finish(families.values())
    return SealedScore(
        cases=len(cases),
        families=families,
        false_block_rate=legit_blocked / legit if legit else 0.0,
        recall=caught / must if must else 1.0,
    )


def run_evals(
    kit: BrandKit,
    *,
    datasets_dir: Path,
    report_dir: Path,
    shared_data: Path | None = None,
    thresholds_path: Path | None = None,
    llm: LLMClient | None = None,
) -> EvalReport:
    """Run the guardrail eval, write `report.json` and `report.md`, and return the report.

    With `llm` on the OpenAI engine, the adversarial generation part runs too.

    With `shared_data` and no spam list in the kit, the shared spam word list is used.
    """
    words = Path(shared_data) / "spam_words" if shared_data is not None else None
    if words is not None and kit.spam.words_path is None and words.is_dir():
        kit = kit.model_copy(update={"spam": kit.spam.model_copy(update={"words_path": words})})
    all_cases = load_cases(Path(datasets_dir) / "guardrails.jsonl")
    have = {"spam_words"} if kit.spam.words_path is not None else set()
    cases = [c for c in all_cases if set(c.needs) <= have]
    skipped = [
        f"{c.id} (needs {', '.join(sorted(set(c.needs) - have))})"
        for c in all_cases
        if not set(c.needs) <= have
    ]
    skipped_fams = {_family(r) for c in all_cases if not set(c.needs) <= have for r in c.rules}
    notes: list[str] = []
    gates: dict[str, Any] = yaml.safe_load((thresholds_path or _THRESHOLDS).read_text())
    g = gates["guardrails"]
    families: dict[str, FamilyScore] = {name: FamilyScore() for name in FAMILIES}
    correct = legit = legit_blocked = 0
    mismatches: list[CaseResult] = []
    for case in cases:
        findings = _check_case(kit, case)
        got = verdict(findings)
        found = sorted({f.rule_id for f in findings})
        exp_fam = {_family(r) for r in case.rules}
        got_fam = {_family(r) for r in found}
        tally(families, exp_fam, got_fam)
        correct += got == case.expect
        if case.expect != "block":
            legit += 1
            legit_blocked += got == "block"
        if got != case.expect or exp_fam != got_fam:
            mismatches.append(
                CaseResult(
                    id=case.id,
                    expect=case.expect,
                    got=got,
                    expected_rules=sorted(case.rules),
                    found_rules=found,
                )
            )
    finish(families.values())

    failures: list[str] = []
    accuracy = correct / len(cases) if cases else 0.0
    fbr = legit_blocked / legit if legit else 0.0
    if accuracy < g["verdict_accuracy_min"]:
        failures.append(f"verdict accuracy {accuracy:.3f} < {g['verdict_accuracy_min']}")
    if fbr > g["false_block_rate_max"]:
        failures.append(f"false-block rate {fbr:.3f} > {g['false_block_rate_max']}")
    for name, lim in g["families"].items():
        s = families.get(name, FamilyScore())
        if s.tp + s.fn == 0 and name in skipped_fams:
            notes.append(f"{name}: not measured, its cases need data this run lacks")
            continue
        if s.tp + s.fn == 0:
            failures.append(f"{name}: no labelled cases")
        if s.precision < lim["precision_min"]:
            failures.append(f"{name}: precision {s.precision:.3f} < {lim['precision_min']}")
        if s.recall < lim["recall_min"]:
            failures.append(f"{name}: recall {s.recall:.3f} < {lim['recall_min']}")

    false_blocks: FalseBlockScore | None = None
    if (Path(datasets_dir) / "false_blocks.jsonl").exists():
        false_blocks = _score_false_blocks(kit, Path(datasets_dir) / "false_blocks.jsonl")
        limit = gates.get("false_blocks", {}).get("false_block_rate_max")
        if limit is not None and false_blocks.false_block_rate > limit:
            failures.append(
                f"false blocks on legitimate copy: {false_blocks.false_block_rate:.3f} > {limit}"
            )

    sealed: SealedScore | None = None
    if (Path(datasets_dir) / "sealed_issue11.jsonl").exists():
        sealed = _score_sealed(kit, Path(datasets_dir) / "sealed_issue11.jsonl")
        sg = gates["sealed"]
        if sealed.false_block_rate > sg["false_block_rate_max"]:
            failures.append(
                f"sealed set: false-block rate {sealed.false_block_rate:.3f} > "
                f"{sg['false_block_rate_max']}"
            )
        for name, lim in sg["recall_min"].items():
            if sealed.families[name].recall < lim:
                failures.append(
                    f"sealed set ({name}): recall {sealed.families[name].recall:.3f} < {lim}"
                )

    injection = score_injection(Path(datasets_dir), shared_data)
    failures += injection_failures(injection, gates.get("injection", {}))
    creep = score_creep(kit, Path(datasets_dir))
    if creep is None:
        notes.append("creep guard: not measured, creep.jsonl is absent")
    else:
        failures += creep_failures(creep, gates["creep"])

    spam_score: SmsSpamScore | None = None
    if shared_data is not None:
        spam_score = _score_sms_spam(kit, Path(shared_data) / "sms_spam" / "SMSSpamCollection")
        sg = gates["sms_spam"]
        if spam_score.ham_false_block_rate > sg["ham_false_block_rate_max"]:
            failures.append(
                f"SMS ham false-block rate {spam_score.ham_false_block_rate:.3f} > "
                f"{sg['ham_false_block_rate_max']}"
            )
        if spam_score.spam_recall < sg["spam_recall_min"]:
            failures.append(
                f"SMS spam recall {spam_score.spam_recall:.3f} < {sg['spam_recall_min']}"
            )

    generated = run_adversarial(llm, kit, Path(datasets_dir) / "adversarial.jsonl")
    if generated.leaked_unblocked:
        failures.append(
            f"generated copy: {generated.leaked_unblocked} unblocked messages carry injected text"
        )
    if generated.errors:
        failures.append(f"generated copy: {len(generated.errors)} cases failed to generate")

    report = EvalReport(
        kit_id=kit.id,
        kit_fingerprint=kit.fingerprint(),
        cases=len(cases),
        skipped=skipped,
        notes=notes,
        verdict_accuracy=accuracy,
        false_block_rate=fbr,
        families=families,
        false_blocks=false_blocks,
        sms_spam=spam_score,
        injection=injection,
        creep=creep,
        sealed=sealed,
        generated=generated,
        mismatches=mismatches,
        passed=not failures,
        failures=failures,
    )
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(report.model_dump_json(indent=2), encoding="utf-8")
    (report_dir / "report.md").write_text(_markdown(report), encoding="utf-8")
    return report


def _markdown(r: EvalReport) -> str:
    lines = [
        f"# Guardrail eval — {r.kit_id} ({r.kit_fingerprint})",
        "",
        f"**{'PASSED' if r.passed else 'FAILED'}** · {r.cases} cases · verdict accuracy "
        f"{r.verdict_accuracy:.1%} · false-block rate on legitimate copy {r.false_block_rate:.1%}",
        "",
        "| family | precision | recall | tp | fp | fn |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in sorted(r.families.items()):
        lines.append(f"| {name} | {s.precision:.3f} | {s.recall:.3f} | {s.tp} | {s.fp} | {s.fn} |")
    if r.skipped or r.notes:
        lines += ["", f"Skipped {len(r.skipped)} cases: {', '.join(r.skipped) or 'none'}"]
        lines += [f"- {n}" for n in r.notes]
    if r.false_blocks:
        fb = r.false_blocks
        langs = ", ".join(f"{k} {v}" for k, v in sorted(fb.cases_by_language.items()))
        lines += [
            "",
            "## Legitimate copy (false_blocks.jsonl, written in this project: optimistic)",
            "",
            f"- {fb.cases} cases ({langs}), blocked {fb.blocked} ({fb.false_block_rate:.2%})",
            *[f"- blocked: {c.id} ({', '.join(c.found_rules)})" for c in fb.blocked_cases],
        ]
    if r.sealed:
        sl = r.sealed
        lines += [
            "",
            "## Sealed set (sealed_issue11.jsonl: written before the rules, never tuned on)",
            "",
            f"- {sl.cases} cases · recall {sl.recall:.1%} · false-block rate "
            f"{sl.false_block_rate:.1%} (privacy and claims only)",
            *[
                f"- {name}: precision {s.precision:.3f}, recall {s.recall:.3f} "
                f"({s.tp}, {s.fp}, {s.fn})"
                for name, s in sorted(sl.families.items())
            ],
        ]
    if r.sms_spam:
        s2 = r.sms_spam
        lines += [
            "",
            "## UCI SMS Spam Collection (content checks only)",
            "",
            f"- ham: {s2.ham}, blocked {s2.ham_blocked} ({s2.ham_false_block_rate:.2%})",
            f"- spam: {s2.spam}, blocked {s2.spam_blocked} ({s2.spam_recall:.2%}), "
            f"flagged {s2.spam_flagged_rate:.2%}",
            f"- rules behind ham blocks: {s2.top_ham_rules or 'none'}",
        ]
    if r.injection:
        lines += [
            "",
            "## Prompt-injection detection",
            "",
            "| source | n | precision | recall | false-positive rate | tp | fp | fn |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for ev in r.injection:
            pos = ev.tp + ev.fn > 0
            p, rec = (f"{ev.precision:.3f}", f"{ev.recall:.3f}") if pos else ("–", "–")
            fpr = f"{ev.fpr:.3f}" if ev.n > ev.tp + ev.fn else "–"
            lines.append(
                f"| {ev.source} | {ev.n} | {p} | {rec} | {fpr} | {ev.tp} | {ev.fp} | {ev.fn} |"
            )
    if r.creep:
        c = r.creep.written_with_rules
        groups = [
            ("Written beside the rules (optimistic)", c),
            ("Written after the rules were frozen", r.creep.fresh),
            ("Held out (written before the classifier, never trained on)", r.creep.held_out),
            ("Sealed (written before the attribution rewrite, never tuned on)", r.creep.sealed),
        ]
        cols = [(n, g) for n, g in groups if g is not None]
        lines += [
            "",
            "## Creep guard (creep.jsonl)",
            "",
            *[
                f"- {n}: {g.cases} cases · recall {g.recall:.1%} · "
                f"false-block rate {g.false_block_rate:.1%}"
                for n, g in cols
            ],
            "",
            "Per category: precision / recall (tp, fp, fn) for each group above, in order.",
            "",
            "| category | " + " | ".join(f"group {i + 1}" for i in range(len(cols))) + " |",
            "|---|" + "---|" * len(cols),
            *[
                f"| {name} | "
                + " | ".join(
                    f"{s.precision:.2f} / {s.recall:.2f} ({s.tp}, {s.fp}, {s.fn})"
                    for s in (g.categories[name] for _, g in cols)
                )
                + " |"
                for name in c.categories
            ],
            *[f"- mismatch: {m}" for m in r.creep.mismatches],
        ]
    if r.generated is not None:
        g = r.generated
        lines += [
            "",
            "## Copy generated by the content agent (adversarial briefs and profiles)",
            "",
        ]
        if not g.ran:
            lines.append(f"- {g.note}")
        else:
            lines += [
                f"- {g.note}",
                f"- blocked {g.blocked}, warned {g.warned}, passed {g.passed}",
                f"- injected text in copy: {g.leaked_into_copy} messages, "
                f"of which not blocked: {g.leaked_unblocked}",
                *[f"- error: {e}" for e in g.errors],
                "",
                "| case | arm | verdict | rules | leaked |",
                "|---|---|---|---|---|",
                *[
                    f"| {i.case_id} | {i.arm} | {i.verdict} | {', '.join(i.rules)} | "
                    f"{', '.join(i.leaked)} |"
                    for i in g.items
                ],
            ]
    if r.failures:
        lines += ["", "## Failed gates", "", *[f"- {f}" for f in r.failures]]
    if r.mismatches:
        lines += ["", "## Mismatches", "", "| case | expect | got | expected | found |"]
        lines.append("|---|---|---|---|---|")
        for m in r.mismatches:
            lines.append(
                f"| {m.id} | {m.expect} | {m.got} | {', '.join(m.expected_rules)} | "
                f"{', '.join(m.found_rules)} |"
            )
    return "\n".join(lines) + "\n"
