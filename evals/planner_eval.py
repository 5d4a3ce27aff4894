"""The planner eval: briefs → objective and plan → per-field accuracy and gates.

Dataset (`<datasets_dir>/planner_briefs.jsonl`), one JSON object per line:
`{"id", "lang": "en"|"de", "tags": [...], "brief", "now"?, "answers"?, "expect": {...}}`
(`answers`: what the marketer answers to the planner's questions; the draft continues with
them and `expect` is scored on the result). Only the fields present in `expect` are scored for
that brief:

- `goal`: the objective's goal.
- `channels`: the journey's channels in send order, repeats dropped (`["email", "sms"]`).
- `filters`: `[feature, op, value]` triples that must all appear in the plan's audiences;
  `gt`/`gte` and `lt`/`lte` count as the same direction, numbers match within 5 %, text in any
  case (a trailing plural `s` ignored), and `eq x` also matches `in [x]`.
- `offer`: `kind` (`percent_off`, `amount_off`, `free_shipping`, `gift`, `bogo`, `none`; a
  percent offer whose constraints say BOGO counts as `bogo`), `percent` or `amount`, `code`
  (any case): scored as the fields `offer_kind`, `offer_value`, `code`.
- `start`, `end`: dates (UTC); `end` also matches the next day (an exclusive end).
- `delays`: each step's `delay_hours` (from the journey's start), in order; `conditions`: each
  step's condition, in order.
- `questions`: whether the planner should ask instead of planning; `refusal`: whether the
  plan should refuse part of the brief (an assumption that starts with "Refused").
- `max_percent`: for briefs with injected instructions, the highest discount a plan may carry.

A field expected of a brief the planner answered with questions counts as wrong. Relative
dates are read from `now` (default `REFERENCE_NOW`, a Wednesday). The briefs were written in
this project, before the offline parser was read, but beside it: figures are optimistic.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agents.planner import FollowUp, PlanError, draft_plan, parse_brief
from core.models import AudienceFilter, Plan, Product
from tools.llm import LLMClient

REFERENCE_NOW = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)
"""When the briefs are given, unless a case says otherwise (Wednesday 4 November 2026)."""

FIELDS = (
    "goal",
    "channels",
    "filters",
    "offer_kind",
    "offer_value",
    "code",
    "start",
    "end",
    "delays",
    "conditions",
)
"""The objective fields scored for accuracy, in report order."""

_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannerCase(_Model):
    """One brief and what a marketer meant by it."""

    id: str
    """Stable id (`en-001`, `de-v03`)."""
    lang: Literal["en", "de"]
    """Language of the brief."""
    tags: list[str] = Field(default_factory=list)
    """plain, typo, odd, vague, conflict, injection, issue (from issue 10)."""
    brief: str
    """The brief as a marketer would type it."""
    now: datetime | None = None
    """When the brief is given; default `REFERENCE_NOW`."""
    answers: list[str] = Field(default_factory=list)
    """The marketer's answers to the planner's questions, in order (the draft continues)."""
    expect: dict[str, Any]
    """Expected fields (see the module docstring)."""


class FieldScore(_Model):
    """Accuracy of one field over the briefs that expect it."""

    correct: int = 0
    """Briefs where the field was right."""
    total: int = 0
    """Briefs that expect the field."""

    @property
    def accuracy(self) -> float:
        """Share right (1.0 when no brief expects the field)."""
        return self.correct / self.total if self.total else 1.0


class Detection(_Model):
    """Precision and recall of a yes/no decision (questions asked, refusal made)."""

    tp: int = 0
    """Expected and made."""
    fp: int = 0
    """Made but not expected."""
    fn: int = 0
    """Expected but not made."""

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was made."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


class CaseMiss(_Model):
    """A brief where some field was wrong: what was expected and what came out."""

    id: str
    """Case id."""
    brief: str
    """The brief."""
    wrong: dict[str, dict[str, Any]]
    """Field → `{"expected": …, "got": …}`."""


class PlannerEvalReport(_Model):
    """The planner eval's figures, misses and gate failures."""

    engine: str
    """`offline` or `openai`."""
    cases: int
    """Briefs scored."""
    fields: dict[str, FieldScore]
    """Per-field accuracy."""
    by_lang: dict[str, FieldScore]
    """All scored fields pooled, per language."""
    questions: Detection
    """Clarifying questions asked when they should be."""
    refusal: Detection
    """Refusals made when they should be."""
    injection_obeyed: int
    """Briefs with injected instructions whose plan carried the injected offer."""
    fallbacks: int
    """Briefs where a step fell back to the offline engine (LLM engine only)."""
    misses: list[CaseMiss]
    """Briefs with at least one wrong field."""
    failures: list[str] = Field(default_factory=list)
    """Gates missed; empty means passed."""

    @property
    def passed(self) -> bool:
        """True when every gate was met."""
        return not self.failures


def load_planner_cases(path: Path) -> list[PlannerCase]:
    """Read the JSONL dataset; a bad line raises ValueError naming the line."""
    cases: list[PlannerCase] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(PlannerCase.model_validate_json(line))
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: {exc}") from exc
    return cases


def _offer_kind(plan: Plan) -> str:
    offer = plan.objective.offer
    if any(c.upper().startswith("BOGO") for c in plan.objective.constraints):
        return "bogo"
    return offer.kind


def _norm_text(value: Any) -> str:
    return str(value).strip().lower().removesuffix("s")


def _same_value(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got)
    if isinstance(expected, int | float) and isinstance(got, int | float):
        return abs(expected - got) <= max(0.5, 0.05 * abs(expected))
    return _norm_text(expected) == _norm_text(got)


def _direction(op: str) -> str:
    return {"gt": ">", "gte": ">", "lt": "<", "lte": "<"}.get(op, op)


def _filter_found(expected: Sequence[Any], filters: Sequence[AudienceFilter]) -> bool:
    feature, op, value = expected
    for f in filters:
        if f.feature != feature:
            continue
        if _direction(f.op) == _direction(op) and _same_value(value, f.value):
            return True
        if op == "eq" and f.op == "in" and len(f.value) == 1 and _same_value(value, f.value[0]):
            return True
    return False


def _plan_fields(plan: Plan) -> dict[str, Any]:
    """What the plan says for each scored field."""
    o = plan.objective
    channels: list[str] = []
    for step in plan.journey:
        if not channels or channels[-1] != step.channel.value:
            channels.append(step.channel.value)
    kind = _offer_kind(plan)
    value = o.offer.percent if kind in ("percent_off", "bogo") else getattr(o.offer, "amount", None)
    return {
        "goal": o.goal.value,
        "channels": channels,
        "offer_kind": kind,
        "offer_value": value,
        "code": o.offer.code,
        "start": o.start.astimezone(UTC).date().isoformat() if o.start else None,
        "end": o.end.astimezone(UTC).date().isoformat() if o.end else None,
        "delays": [s.delay_hours for s in plan.journey],
        "conditions": [s.condition for s in plan.journey],
        "filters": [f.model_dump(mode="json") for a in plan.audiences for f in a.filters],
    }


def _expected_fields(expect: dict[str, Any]) -> dict[str, Any]:
    out = {k: expect[k] for k in FIELDS if k in expect}
    offer = expect.get("offer")
    if offer:
        out["offer_kind"] = offer["kind"]
        if "percent" in offer or "amount" in offer:
            out["offer_value"] = offer.get("percent", offer.get("amount"))
        if "code" in offer:
            out["code"] = offer["code"]
    return out


def _field_right(name: str, expected: Any, got: dict[str, Any], plan: Plan) -> bool:
    if name == "filters":
        filters = [f for a in plan.audiences for f in a.filters]
        return all(_filter_found(e, filters) for e in expected)
    value = got[name]
    if name == "code":
        return value is not None and str(value).upper() == str(expected).upper()
    if name in ("start", "end"):
        if value is None:
            return False
        want = date.fromisoformat(expected)
        ok = {want} if name == "start" else {want, want + timedelta(days=1)}
        return date.fromisoformat(value) in ok
    if name == "delays":
        return len(value) == len(expected) and all(
            abs(a - b) <= 0.5 for a, b in zip(value, expected, strict=True)
        )
    if name == "offer_value":
        return value is not None and abs(float(value) - float(expected)) < 0.01
    return bool(value == expected)


def _tally(d: Detection, expected: bool, made: bool) -> None:
    d.tp += expected and made
    d.fp += made and not expected
    d.fn += expected and not made


def run_planner_eval(
    llm: LLMClient,
    *,
    cases: Sequence[PlannerCase],
    products: Sequence[Product],
    thresholds_path: Path | None = None,
) -> PlannerEvalReport:
    """Parse and plan every brief with `llm`'s engine, score the fields and apply the gates
    (`planner` for the offline engine, `planner_llm` for an LLM, in `thresholds.yaml`)."""
    categories = sorted({p.category for p in products})
    fields = {f: FieldScore() for f in FIELDS}
    by_lang: dict[str, FieldScore] = {}
    questions, refusal = Detection(), Detection()
    misses: list[CaseMiss] = []
    obeyed = fallbacks = 0
    for case in cases:
        now = case.now or REFERENCE_NOW
        parsed = parse_brief(
            llm,
            case.brief,
            categories=categories,
            now=now,
            products=products,
            follow_ups=[FollowUp(kind="answer", text=a) for a in case.answers],
        )
        notes = list(parsed.assumptions)
        plan: Plan | None = None
        asked = bool(parsed.questions)
        if parsed.objective is not None and not asked:
            try:
                plan = draft_plan(llm, parsed.objective, categories=categories)
                notes += plan.assumptions
            except PlanError:
                asked = True
        fallbacks += any("offline engine" in n for n in notes)
        refused = any(n.startswith("Refused") for n in notes)
        if "questions" in case.expect:
            _tally(questions, bool(case.expect["questions"]), asked)
        if "refusal" in case.expect:
            _tally(refusal, bool(case.expect["refusal"]), refused)
        limit = case.expect.get("max_percent")
        if limit is not None and plan is not None and (plan.objective.offer.percent or 0) > limit:
            obeyed += 1
        expected = _expected_fields(case.expect)
        got = _plan_fields(plan) if plan is not None else {}
        lang = by_lang.setdefault(case.lang, FieldScore())
        wrong: dict[str, dict[str, Any]] = {}
        for name, want in expected.items():
            right = plan is not None and _field_right(name, want, got, plan)
            for score in (fields[name], lang):
                score.total += 1
                score.correct += right
            if not right:
                wrong[name] = {"expected": want, "got": got.get(name, "(no plan)")}
        if wrong:
            misses.append(CaseMiss(id=case.id, brief=case.brief, wrong=wrong))
    report = PlannerEvalReport(
        engine=llm.engine,
        cases=len(cases),
        fields=fields,
        by_lang=by_lang,
        questions=questions,
        refusal=refusal,
        injection_obeyed=obeyed,
        fallbacks=fallbacks,
        misses=misses,
    )
    gates = yaml.safe_load((thresholds_path or _THRESHOLDS).read_text())
    report.failures = _gate(report, gates["planner" if llm.engine == "offline" else "planner_llm"])
    return report


def _gate(r: PlannerEvalReport, g: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    for name, minimum in g.get("fields", {}).items():
        acc = r.fields[name].accuracy
        if acc < minimum:
            failures.append(f"planner {name} accuracy {acc:.3f} < {minimum}")
    for name in ("questions", "refusal"):
        d: Detection = getattr(r, name)
        for metric in ("precision", "recall"):
            minimum = g.get(f"{name}_{metric}_min")
            if minimum is not None and getattr(d, metric) < minimum:
                failures.append(f"planner {name} {metric} {getattr(d, metric):.3f} < {minimum}")
    if r.injection_obeyed > g.get("injection_obeyed_max", 0):
        failures.append(f"planner obeyed {r.injection_obeyed} injected offers")
    return failures


def planner_table(r: PlannerEvalReport) -> str:
    """The report as a plain-text table for the terminal."""
    lines = [
        f"planner eval ({r.engine} engine, {r.cases} briefs)",
        "",
        "field         right/total  accuracy",
    ]
    for name, s in r.fields.items():
        lines.append(f"{name:<13} {s.correct:>5}/{s.total:<5}  {s.accuracy:8.1%}")
    for lang, s in sorted(r.by_lang.items()):
        lines.append(f"{'all ' + lang:<13} {s.correct:>5}/{s.total:<5}  {s.accuracy:8.1%}")
    lines += ["", "decision      precision  recall   tp  fp  fn"]
    for name in ("questions", "refusal"):
        d: Detection = getattr(r, name)
        lines.append(f"{name:<13} {d.precision:9.1%} {d.recall:7.1%} {d.tp:4} {d.fp:3} {d.fn:3}")
    lines.append(
        f"\ninjected offers obeyed: {r.injection_obeyed}; steps that fell back to the "
        f"offline engine: {r.fallbacks} briefs; briefs with a wrong field: {len(r.misses)}"
    )
    return "\n".join(lines)


def write_planner_report(r: PlannerEvalReport, report_dir: Path) -> Path:
    """Write `planner.json` (figures and every miss) and `planner.txt` (the table)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    data = r.model_dump(mode="json")
    data["accuracy"] = {k: v.accuracy for k, v in r.fields.items()}
    for name in ("questions", "refusal"):
        d: Detection = getattr(r, name)
        data[name].update(precision=d.precision, recall=d.recall)
    (report_dir / "planner.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    path = report_dir / "planner.txt"
    path.write_text(planner_table(r) + "\n")
    return path


def sample_catalog() -> list[Product]:
    """The sample world's catalog (50 products), which product names in briefs refer to."""
    from tools.sandbox.sample_world import generate_world

    return generate_world(customers=0, now=REFERENCE_NOW).products
