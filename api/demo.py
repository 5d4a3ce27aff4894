"""`autocmo demo`: the whole loop on the synthetic sample world, with a report.

The demo runs in its own folder (`<data dir>/demo`, wiped at start), so it never touches a real
database. Outcomes come from the response simulator, which is named as such everywhere; it is a
client of the production paths (event ingestion, tracking links, unsubscribe), never a writer of
outcome rows.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from agents.content import RenderError, preview_contexts, render_template
from agents.reporting import campaign_report
from core import campaigns as repo
from core import messages as outbox
from core.catalog import list_products
from core.customers import set_consent, timezones
from core.db import Database
from core.events import ingest_events
from core.models import (
    ApprovalStatus,
    CampaignStatus,
    Channel,
    Event,
    MessageStatus,
    Outcome,
    OutcomeKind,
    RevisionStatus,
    VariantTemplate,
)
from core.outcomes import ORDER_COMPLETED, record_message_outcome
from core.settings import Settings
from graphs.operations import decide, optimize, submit_brief
from graphs.runtime import Deps, build_deps
from tools.delivery.dispatch import dispatch_due
from tools.delivery.scheduling import local_hour, resolve_tz
from tools.delivery.tracking import click_token, follow_click, open_token, record_open
from tools.sandbox.sample_world import generate_world, load_world
from tools.sandbox.simulator import ResponseSimulator, SimMessage

DEMO_APPROVER = "demo-approver (automated stand-in for a human)"
"""Who approves in the demo. A real deployment has people in the approval queue."""

DEMO_BRIEF = (
    "Win back customers who haven't ordered in the last 3 months. Offer 10% off with code "
    "COMEBACK10 by email, then send an SMS reminder to those who still haven't bought."
)
"""The brief the demo submits."""


def seed_world(db: Database, *, customers: int, seed: int, now: datetime) -> dict[str, int]:
    """Generate and load the synthetic sample world; returns row counts."""
    world = generate_world(seed=seed, customers=customers, now=now)
    load_world(db, world)
    return {
        "customers": len(world.customers),
        "products": len(world.products),
        "events": len(world.events),
    }


class _Progress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.t0 = time.perf_counter()

    @contextmanager
    def stage(self, title: str) -> Iterator[None]:
        self.console.print(f"[bold cyan]▶ {title}[/bold cyan]")
        t = time.perf_counter()
        yield
        self.console.print(f"  [dim]done in {time.perf_counter() - t:.1f}s[/dim]")


def _simulate(
    deps: Deps,
    sim: ResponseSimulator,
    campaign_id: str,
    *,
    step_id: str,
    assigned: list[tuple[str, str]],
    as_of: datetime,
) -> Counter[str]:
    rows = outbox.sent_with_angle(deps.db, campaign_id, step_id)
    tz_of = timezones(deps.db)
    offer = 0.0
    plan = repo.latest_plan(deps.db, campaign_id)
    if plan and plan.objective.offer.percent:
        offer = plan.objective.offer.percent
    products = {p.id: p for p in list_products(deps.db)}
    msgs = []
    for m, angle in rows:
        sent_at = m.sent_at or m.scheduled_at
        tz = resolve_tz(tz_of.get(m.customer_id), deps.kit.default_timezone)
        product = products.get(m.product_id) if m.product_id else None
        msgs.append(
            SimMessage(
                message_id=m.id,
                customer_id=m.customer_id,
                channel=Channel(m.channel),
                angle=angle,
                offer_percent=offer,
                product_id=m.product_id,
                category=product.category if product else None,
                local_hour=local_hour(sent_at, tz),
                sent_at=sent_at,
            )
        )
    outcomes = sim.simulate(campaign_id, assigned=assigned, sent=msgs, as_of=as_of)
    return _report_back(deps, outcomes, {m.message_id: m.channel for m in msgs})


def _report_back(deps: Deps, outcomes: list[Outcome], channels: dict[str, Channel]) -> Counter[str]:
    """Send what the simulated people did through the production paths, as the real world
    would: purchases as `Order Completed` events through event ingestion (which attributes and
    counts them), clicks through the signed tracking links, opens through the pixel (e-mail, when
    the kit enables it), unsubscribes as the unsubscribe link records them and bounces as the
    delivery webhook does. Deliveries are already recorded by the dispatcher; SMS reads are
    invisible in the real world, so they are dropped. Returns what was recorded, by kind."""
    db, settings, kit = deps.db, deps.settings, deps.kit
    orders: list[Event] = []
    done: Counter[str] = Counter()
    for o in outcomes:
        mid = o.message_id
        if o.kind is OutcomeKind.CONVERTED:
            orders.append(
                Event(
                    type="track",
                    messageId=f"sim:{o.campaign_id}:{o.customer_id}:{mid or 'organic'}",
                    userId=o.customer_id,
                    event=ORDER_COMPLETED,
                    properties={"revenue": o.value},
                    timestamp=o.at,
                )
            )
        elif mid is None:
            continue
        elif o.kind is OutcomeKind.CLICKED:
            follow_click(
                db,
                settings,
                click_token(settings, mid, kit.site_url),
                kit.allowed_link_domains,
                o.at,
            )
            done["clicked"] += 1
        elif o.kind is OutcomeKind.OPENED:
            if channels.get(mid) == Channel.EMAIL and kit.tracking.open_pixel:
                done["opened"] += record_open(db, settings, open_token(settings, mid), o.at)
        elif o.kind is OutcomeKind.UNSUBSCRIBED:
            set_consent(db, o.customer_id, channels[mid], False, "unsubscribe_link", o.at)
            done["unsubscribed"] += 1
        elif o.kind is OutcomeKind.BOUNCED:
            done["bounced"] += record_message_outcome(db, mid, OutcomeKind.BOUNCED, o.at)
    done["converted"] = ingest_events(db, orders, kit.tracking).conversions
    return done


def _run_worker(deps: Deps, start: datetime, end: datetime) -> dict[str, Any]:
    """Run the dispatcher once per simulated hour, as `autocmo worker` would in real time."""
    totals: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    at = start
    while at < end:
        at = min(at + timedelta(hours=1), end)
        stats = dispatch_due(deps.db, deps.settings, deps.dispatch_policy(), as_of=at)
        totals.update({k: v for k, v in stats.model_dump().items() if isinstance(v, int)})
        skipped.update(stats.skipped)
    return {**dict(totals), "skipped": dict(skipped)}


def _preview(deps: Deps, variant: VariantTemplate) -> str:
    """The variant as a sample person would read it (subject, or the start of an SMS)."""
    plan = repo.latest_plan(deps.db, variant.id.split(":", 1)[0])
    if plan is None:
        return variant.subject or variant.body[:90]
    ctx = preview_contexts(deps.kit, plan.objective)[0]
    try:
        return render_template(variant.subject or variant.body, ctx).replace("\n", " ")[:90]
    except RenderError as exc:
        return f"(does not render: {exc})"


def run_demo(
    settings: Settings,
    *,
    report_path: Path,
    customers: int = 5000,
    seed: int = 7,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run brief → plan → content → guardrails → approval → sends → outcomes → optimizer."""
    console = console or Console()
    progress = _Progress(console)
    demo_dir = settings.data_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    s = settings.model_copy(update={"data_dir": demo_dir, "database_url": None})
    s.ensure_dirs()
    now = datetime.now(UTC).replace(microsecond=0)

    engine = (
        "offline"
        if s.offline
        else f"openai ({s.llm_model} at {s.openai_base_url or 'api.openai.com'})"
    )
    console.print(f"[bold]autocmo demo[/bold] — engine: {engine}")
    if s.offline:
        console.print(
            "  No OPENAI_API_KEY: the offline engine runs (rule-based planner, copy from the "
            "brand kit's approved copy bank). Set OPENAI_API_KEY / OPENAI_BASE_URL for an LLM."
        )
    console.print(f"  Working folder: {demo_dir} (wiped at every demo run)")

    with progress.stage(
        f"Sample world: {customers} synthetic customers, catalog, 90 days of events"
    ):
        db = Database(s.db_url)
        db.migrate()
        counts = seed_world(db, customers=customers, seed=seed, now=now)
        db.dispose()
        console.print(f"  {counts}")

    with progress.stage("Brand kit and rules (Chroma, local MiniLM embeddings)"):
        deps = build_deps(s)
        deps.clock = lambda: now
        console.print(f"  brand: {deps.kit.name}; rules indexed for retrieval")

    with progress.stage("Brief → planner → content → guardrails → approval gate"):
        console.print(f"  brief: “{DEMO_BRIEF}”")
        res = submit_brief(deps, DEMO_BRIEF, now=now)
        cid = res.campaign_id
        plan = res.plan
        console.print(f"  campaign {cid}: {plan.objective.name if plan else None}")
        console.print(
            f"  audience {res.audience_size} contactable people, {res.holdout_size} "
            "held out at random (they get nothing; their outcomes are still measured)"
        )
        journey = plan.journey if plan else []
        for st in journey:
            console.print(
                f"  step {st.id}: {st.channel} +{st.delay_hours:g}h "
                f"[{st.condition}] {st.content_brief}"
            )
        for v in res.variants:
            console.print(f"  arm {v.arm} of {v.step_id} ({v.angle}): {_preview(deps, v)}")

    approvals_log: list[dict[str, Any]] = []
    if res.status == CampaignStatus.AWAITING_APPROVAL and res.approval_id:
        with progress.stage("Approval queue"):
            for a in repo.list_approvals(deps.db, status=ApprovalStatus.PENDING):
                console.print(f"  pending {a.id}: {a.subject}\n    why: {a.reason}")
            dec = decide(
                deps,
                res.approval_id,
                approved=True,
                decided_by=DEMO_APPROVER,
                comment="Approved by the demo script.",
            )
            approvals_log.append(
                {
                    "id": res.approval_id,
                    "kind": "launch",
                    "reason": dec.approval.reason,
                    "decided_by": DEMO_APPROVER,
                    "decision": "approved",
                }
            )
            console.print(f"  approved by {DEMO_APPROVER}: {dec.effect}")
    elif res.status != CampaignStatus.ACTIVE:
        console.print(f"[red]The campaign did not launch: {res.status} {res.questions}[/red]")
        return {"ok": False, "status": res.status, "questions": res.questions}

    assigned = repo.assignments(deps.db, cid)
    sim = ResponseSimulator(seed=seed, products={p.id: p for p in list_products(deps.db)})
    revisions: list[dict[str, Any]] = []
    worker_clock = now
    for i, step in enumerate(journey):
        step_clock = now + timedelta(hours=float(step.delay_hours) + 25)
        with progress.stage(
            f"Worker: hourly dispatch cycles up to {step_clock:%Y-%m-%d %H:%M} UTC "
            f"(step {step.id}, {step.channel})"
        ):
            console.print(f"  {_run_worker(deps, worker_clock, step_clock)}")
            worker_clock = step_clock
        with progress.stage(f"Response simulator: outcomes of step {step.id}"):
            n = _simulate(
                deps,
                sim,
                cid,
                step_id=step.id,
                assigned=assigned if i == 0 else [],
                as_of=step_clock,
            )
            console.print(f"  recorded through the production paths: {dict(n)}")
        if i < len(journey) - 1:
            with progress.stage("Optimizer: measure against holdout, revise within thresholds"):
                out = optimize(deps, cid, as_of=step_clock)
                for o in out.outcomes:
                    console.print(f"  revision {o.status}: {o.description} ({o.reason})")
                    rec: dict[str, Any] = o.model_dump(mode="json")
                    if o.status == RevisionStatus.QUEUED and o.approval_id:
                        dec = decide(
                            deps,
                            o.approval_id,
                            approved=True,
                            decided_by=DEMO_APPROVER,
                            comment="Approved by the demo script.",
                        )
                        approvals_log.append(
                            {
                                "id": o.approval_id,
                                "kind": "revision",
                                "reason": o.reason,
                                "decided_by": DEMO_APPROVER,
                                "decision": "approved",
                            }
                        )
                        console.print(f"  approved by {DEMO_APPROVER}: {dec.effect}")
                        rec["status"] = "approved_and_applied"
                    revisions.append(rec)
                if not out.outcomes:
                    console.print("  no revision: not enough evidence yet")

    with progress.stage("Final measurement"):
        rep = campaign_report(deps.db, cid)
        m = rep.measurement
        lift = m.conversion_lift
        lj = lift.model_dump(mode="json") if lift else {}
    report = {
        "ok": True,
        "engine": deps.llm.engine,
        "model": s.llm_model if not s.offline else None,
        "campaign_id": cid,
        "brief": DEMO_BRIEF,
        "audience_size": res.audience_size,
        "holdout_size": res.holdout_size,
        "plan": rep.plan.model_dump(mode="json") if rep.plan else None,
        "variants": [
            {
                k: v[k]
                for k in (
                    "id",
                    "step_id",
                    "arm",
                    "angle",
                    "channel",
                    "subject",
                    "body",
                    "status",
                    "weight",
                )
            }
            for v in (vv.model_dump(mode="json") for vv in repo.load_variants(deps.db, cid))
        ],
        "guardrail_findings": rep.findings,
        "approvals": approvals_log,
        "messages": rep.messages,
        "skipped": rep.skipped,
        "messages_sent": rep.messages.get(MessageStatus.SENT, 0),
        "conversions_treated": m.conversions_treated,
        "conversions_holdout": m.conversions_holdout,
        "treated_n": m.treated_n,
        "holdout_n": m.holdout_n,
        "lift": {
            "metric": "conversion_rate",
            "estimate": lift.estimate if lift else None,
            # bounds from the JSON form: an unbounded end (a group of one) is None there
            "ci_low": lj.get("ci_low"),
            "ci_high": lj.get("ci_high"),
            "always_valid_low": lj.get("sequential_low"),
            "always_valid_high": lj.get("sequential_high"),
            "treated_rate": lift.treated_value if lift else None,
            "holdout_rate": lift.holdout_value if lift else None,
            "small_sample": lift.small_sample if lift else None,
            "confidence": lift.confidence if lift else None,
        },
        "revenue_lift": m.revenue_lift.model_dump(mode="json") if m.revenue_lift else None,
        "arms": [a.model_dump(mode="json") for a in m.arms],
        "arms_by_step": [a.model_dump(mode="json") for a in m.steps],
        "optimizer_revisions": revisions,
        "llm_calls": deps.llm.calls,
        "llm_tokens": {"prompt": deps.llm.prompt_tokens, "completion": deps.llm.completion_tokens},
        "simulated": "Outcomes come from the response simulator (synthetic customers), "
        "reported through the production paths (event API ingestion, tracking links).",
        "elapsed_s": round(time.perf_counter() - progress.t0, 1),
    }
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, default=str))
    _summary(console, report, report_path)
    deps.db.dispose()
    return report


def _bound(x: float | None) -> str:
    """An interval end as a percentage; None (no finite bound: a group of one) as "unbounded"."""
    return "unbounded" if x is None else f"{x:+.2%}"


def _summary(console: Console, r: dict[str, Any], path: Path) -> None:
    lift = r["lift"]
    console.print()
    console.print("[bold]Summary[/bold]")
    console.print(f"  engine: {r['engine']}   LLM calls: {r['llm_calls']}")
    console.print(
        f"  audience {r['audience_size']} (holdout {r['holdout_size']}), "
        f"{r['messages_sent']} messages sent, skipped: {r['skipped'] or 'none'}"
    )
    console.print(
        f"  guardrail findings: {r['guardrail_findings'] or 'none'}; approvals: "
        f"{len(r['approvals'])}"
    )
    if lift["estimate"] is not None:
        console.print(
            f"  conversion: treated {lift['treated_rate']:.2%} ({r['conversions_treated']}/"
            f"{r['treated_n']}) vs holdout {lift['holdout_rate']:.2%} "
            f"({r['conversions_holdout']}/{r['holdout_n']})"
        )
        console.print(
            f"  [bold]incremental lift {lift['estimate']:+.2%} "
            f"(95 % CI {_bound(lift['ci_low'])} to {_bound(lift['ci_high'])}; always-valid "
            f"{_bound(lift['always_valid_low'])} to {_bound(lift['always_valid_high'])})[/bold]"
            + ("  [yellow]small sample[/yellow]" if lift["small_sample"] else "")
        )
    for a in r["arms"]:
        rate = a["conversions"] / a["people"] if a["people"] else 0
        console.print(
            f"  arm {a['arm']} ({a['angle']}): {a['people']} people, "
            f"{a['conversions']} converted ({rate:.2%}), share now {a['weight_share']:.0%}"
        )
    for rv in r["optimizer_revisions"]:
        console.print(f"  optimizer: {rv['status']} — {rv['description']}")
    console.print(f"  report: {path}  ({r['elapsed_s']} s)")
