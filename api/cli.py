"""The `autocmo` command line."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import Settings, set_process_environment

if TYPE_CHECKING:
    from core.db import Database
    from core.users import User
    from graphs.operations import BriefResult

app = typer.Typer(
    help="autocmo: autonomous multi-agent marketing, inside guardrails a human owns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _refuse_default_secret(settings: Settings) -> None:
    """Exit unless a secret key is configured or development mode allows the built-in one
    (what `serve` and `worker` sign links with must not be forgeable)."""
    if settings.default_secret and not settings.dev_mode:
        raise _fail(
            "The secret key is the built-in default, so anyone could forge unsubscribe links, "
            "sessions and webhook signatures. Set AUTOCMO_SECRET_KEY, or run "
            "`autocmo serve --generate-secret` once, or set AUTOCMO_DEV_MODE=1 on a development "
            "machine."
        )
    if settings.default_secret:
        err.print("[yellow]warning:[/yellow] development mode with the built-in secret key.")


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(f"{value!r} is not an ISO time (e.g. 2026-11-23T10:00:00Z).") from exc
    return t if t.tzinfo else t.replace(tzinfo=UTC)


@app.command()
def demo(
    report: Annotated[Path | None, typer.Option(help="Where to write the JSON report.")] = None,
    customers: Annotated[int, typer.Option(help="Size of the sample world.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed of the sample world and simulator.")] = 7,
) -> None:
    """Run the whole loop on the sample world: brief → … → optimizer, with a report."""
    from api.demo import run_demo

    settings = _settings()
    path = report or settings.data_dir / "demo-report.json"
    result = run_demo(settings, report_path=path, customers=customers, seed=seed, console=console)
    if not result.get("ok", False):
        raise typer.Exit(1)


@app.command()
def seed(
    customers: Annotated[int, typer.Option(help="How many customers.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Load the synthetic sample world (catalog, customers, 90 days of events)."""
    from api.demo import seed_world
    from core.db import Database

    settings = _settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    n = seed_world(db, customers=customers, seed=seed, now=datetime.now(UTC))
    console.print(
        f"Loaded {n['customers']} customers, {n['products']} products, "
        f"{n['events']} events into {settings.db_url}."
    )


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="customers, events or products")],
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file", exists=True, dir_okay=False)],
) -> None:
    """Import customers, events or products; a file with any bad row writes nothing."""
    from brand_guardrails.kit import load_brand_kit
    from core.db import Database
    from tools.importer import ImportRejected, import_file

    if kind not in ("customers", "events", "products"):
        raise _fail(f"Unknown kind {kind!r}: use customers, events or products.")
    settings = _settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    try:
        tracking = load_brand_kit(settings.brand_path).tracking
        rep = import_file(
            db,
            kind,  # type: ignore[arg-type]
            file,
            phone_region=settings.phone_region,
            tracking=tracking,
        )
    except ImportRejected as exc:
        raise _fail(str(exc)) from exc
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    console.print(
        f"Imported {rep.inserted} {kind} from {file} ({rep.duplicates} duplicates skipped)."
    )


users_app = typer.Typer(help="Users and their roles (viewer, marketer, approver, admin).")
tokens_app = typer.Typer(help="API bearer tokens.")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
_ME = os.environ.get("AUTOCMO_USER") or os.environ.get("USER", "")
_CLI_ACTOR = f"{_ME or 'operator'} (cli)"
"""Who user and token changes made on the command line are audited as."""


def _local_user(db: Database, name: str, permission: str) -> User:
    """The registered user the CLI acts as (the operator has the database; the name makes the
    audit trail and four-eyes meaningful)."""
    from core.users import get_user

    user = get_user(db, name) if name else None
    if user is None:
        raise _fail(
            f"No user {name!r}: the CLI acts as a registered user (--by, default $AUTOCMO_USER "
            f"or $USER). Add one with `autocmo users add {name or 'NAME'} --role ROLE`."
        )
    if not user.may(permission):
        raise _fail(f"{user.name} is a {user.role.value} and may not do this.")
    return user


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Login name, e.g. ana@northwind.example.")],
    role: Annotated[str, typer.Option(help="viewer, marketer, approver or admin.")],
) -> None:
    """Add a user; the password is read from stdin (one line) or asked for."""
    from core.db import Database
    from core.users import UserError, create_user

    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    settings = _settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    try:
        user = create_user(db, name, role, password, by=_CLI_ACTOR)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"Added {user.name} ({user.role.value}).")


@users_app.command("list")
def users_list() -> None:
    """List the users and their roles."""
    from core.db import Database
    from core.users import list_users

    db = Database(_settings().db_url)
    db.migrate()
    table = Table("name", "role")
    for u in list_users(db):
        table.add_row(u.name, u.role.value)
    console.print(table)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Whose token it is.")],
    label: Annotated[str, typer.Option(help="What it is for (shown in listings).")] = "",
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from core.db import Database
    from core.users import UserError, create_token

    settings = _settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    try:
        token = create_token(db, user, label, by=_CLI_ACTOR)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    print(token)
    err.print("Store it now: it is not shown again. Send it as `Authorization: Bearer <token>`.")


@tokens_app.command("revoke")
def tokens_revoke(user: Annotated[str, typer.Option("--user", help="Whose tokens.")]) -> None:
    """Revoke every token of a user."""
    from core.db import Database
    from core.users import UserError, revoke_tokens

    db = Database(_settings().db_url)
    db.migrate()
    try:
        n = revoke_tokens(db, user, by=_CLI_ACTOR)
    except UserError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"Revoked {n} token(s) of {user}.")


@app.command()
def brief(
    text: Annotated[
        str, typer.Argument(help="The brief; with --draft, your answer or change request.")
    ] = "",
    draft: Annotated[
        str | None,
        typer.Option(
            "--draft",
            help="Continue this draft (campaign id): answer the planner's questions, ask for a "
            "change, or revise a rejected plan.",
        ),
    ] = None,
    review: Annotated[
        bool,
        typer.Option("--review", help="Stop at the plan for changes; then --draft ID --submit."),
    ] = False,
    submit: Annotated[
        bool, typer.Option("--submit", help="With --draft: submit the reviewed plan.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    by: Annotated[str, typer.Option(help="The user who submits it (a marketer or up).")] = _ME,
) -> None:
    """Submit a brief (chat-style): get clarifying questions, or a plan awaiting approval.
    `autocmo brief --draft ID "answer"` continues the same draft."""
    from core.campaigns import NotFound
    from graphs.operations import reply_to_draft, submit_brief, submit_draft
    from graphs.runtime import build_deps
    from tools.llm import LLMError

    if submit and (draft is None or text):
        raise _fail("--submit needs --draft ID and no text: it submits that draft's plan.")
    if draft is None and not text.strip():
        raise _fail('Write the brief: autocmo brief "Win back lapsed customers with 10% off…"')
    deps = build_deps(_settings())
    user = _local_user(deps.db, by, "write")
    try:
        if draft is None:
            res = submit_brief(deps, text, submitted_by=user.name, review=review)
        elif submit:
            res = submit_draft(deps, draft, by=user.name)
        else:
            res = reply_to_draft(deps, draft, text, by=user.name)
    except (ValueError, LLMError, NotFound) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(res.model_dump_json(indent=2))
        return
    _print_brief_result(res)


def _print_brief_result(res: BriefResult) -> None:
    from core.models import CampaignStatus

    if res.status == CampaignStatus.NEEDS_INPUT:
        console.print("[bold]autocmo:[/bold] I need a little more before I can plan this:")
        for q in res.questions:
            console.print(f"  • {q}")
        console.print(f'(answer with: autocmo brief --draft {res.campaign_id} "your answer")')
        return
    name = res.plan.objective.name if res.plan else None
    console.print(f"[bold]Campaign {res.campaign_id}[/bold] — {name}")
    for a in res.assumptions:
        console.print(f"  assumed: {a}")
    console.print(f"  audience: {res.audience_size} people, {res.holdout_size} held out at random")
    rec = res.plan.objective.recurrence if res.plan else None
    if rec is not None:
        day = "day" if rec.every == "day" else f"week on day {rec.weekday} (0 = Monday)"
        console.print(f"  recurs: every {day} at {rec.hour_local}:00, brand timezone")
    for st in res.plan.journey if res.plan else []:
        console.print(
            f"  step {st.id}: {st.channel} after {st.delay_hours:g} h "
            f"({st.condition}) — {st.content_brief}"
        )
    for v in res.variants:
        console.print(f"  arm {v.id} [{v.angle}] {v.status}: {v.subject or v.body[:60]}")
    if res.approval_id:
        console.print(
            f"[yellow]Waiting for approval {res.approval_id}[/yellow]: "
            + "; ".join(res.approval_reasons)
        )
        console.print(f"  approve:  autocmo approve {res.approval_id} --by APPROVER")
        console.print(f"  reject:   autocmo reject {res.approval_id} --by APPROVER --comment WHY")
    elif res.waiting_for == "review":
        console.print(f'change it:  autocmo brief --draft {res.campaign_id} "SMS only"')
        console.print(f"submit it:  autocmo brief --draft {res.campaign_id} --submit")
    else:
        console.print(f"status: {res.status}")


@app.command()
def resume(
    campaign_id: Annotated[str, typer.Argument(help="The campaign id.")],
    by: Annotated[
        str, typer.Option(help="The user who resumes a paused campaign (audited).")
    ] = _ME,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
) -> None:
    """Resume a paused campaign; otherwise continue it from its last checkpoint (e.g. after a
    crash during activation)."""
    from core.campaigns import NotFound, get_campaign
    from core.db import Database
    from core.models import CampaignStatus
    from graphs.operations import resume as resume_campaign
    from graphs.runtime import build_deps

    db = Database(_settings().db_url)
    try:
        paused = get_campaign(db, campaign_id).status == CampaignStatus.PAUSED
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    finally:
        db.dispose()
    if paused:
        _lifecycle("resume", campaign_id, by, reason)
        return
    try:
        res = resume_campaign(build_deps(_settings()), campaign_id)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    _print_brief_result(res)


def _lifecycle(action: str, campaign_id: str, by: str, reason: str) -> None:
    from core import lifecycle
    from core.campaigns import NotFound
    from core.db import Database

    db = Database(_settings().db_url)
    db.migrate()
    change = getattr(lifecycle, f"{action}_campaign")
    try:
        user = _local_user(db, by, "write")
        res = change(db, campaign_id, by=user.name, reason=reason)
    except (NotFound, ValueError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        db.dispose()
    extra = f"; {res.messages_skipped} scheduled messages skipped" if action == "stop" else ""
    console.print(f"Campaign {campaign_id}: {res.previous.value} → {res.status.value}{extra}.")


@app.command()
def pause(
    campaign_id: Annotated[str, typer.Argument(help="The campaign id.")],
    by: Annotated[str, typer.Option(help="The user who pauses (audited).")] = _ME,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
) -> None:
    """Pause a live campaign: its messages stay scheduled; nothing is sent until `resume`."""
    _lifecycle("pause", campaign_id, by, reason)


@app.command()
def stop(
    campaign_id: Annotated[str, typer.Argument(help="The campaign id.")],
    by: Annotated[str, typer.Option(help="The user who stops (audited).")] = _ME,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
) -> None:
    """Stop a live or paused campaign for good: its scheduled messages are skipped."""
    _lifecycle("stop", campaign_id, by, reason)


@app.command("retry-activation")
def retry_activation(
    campaign_id: Annotated[str, typer.Argument(help="The campaign id.")],
    by: Annotated[str, typer.Option(help="The user who retries (audited).")] = _ME,
) -> None:
    """Queue again the activation jobs of a campaign that failed after their last try (once
    the cause, shown in `autocmo report`, is mended)."""
    from core.activation_jobs import requeue_failed
    from core.db import Database
    from tools.jobqueue import queue_activation_jobs

    settings = _settings()
    db = Database(settings.db_url)
    db.migrate()
    try:
        user = _local_user(db, by, "write")
        chunks = requeue_failed(db, campaign_id, by=user.name)
    finally:
        db.dispose()
    if not chunks:
        raise _fail(f"campaign {campaign_id} has no failed activation job (or is not activating)")
    queue_activation_jobs(settings, campaign_id, chunks)
    console.print(f"Campaign {campaign_id}: {len(chunks)} activation jobs queued again.")


@app.command()
def approvals(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Include decided approvals.")] = False,
) -> None:
    """List pending approvals (the human queue)."""
    from core.campaigns import list_approvals
    from core.db import Database
    from core.models import ApprovalStatus

    settings = _settings()
    db = Database(settings.db_url)
    db.migrate()
    items = list_approvals(db, status=None if all_ else ApprovalStatus.PENDING)
    if as_json:
        print(json.dumps([a.model_dump(mode="json") for a in items], indent=2))
        return
    if not items:
        console.print("No approvals waiting.")
        return
    table = Table("id", "campaign", "kind", "what", "why", "status")
    for a in items:
        table.add_row(
            a.id, a.campaign_name or a.campaign_id, a.kind, a.subject, a.reason, a.status.value
        )
    console.print(table)


def _decide(approval_id: str, approved: bool, by: str, comment: str | None) -> None:
    from core.campaigns import NotFound
    from graphs.operations import decide
    from graphs.runtime import build_deps

    deps = build_deps(_settings())
    user = _local_user(deps.db, by, "decide")
    try:
        res = decide(deps, approval_id, approved=approved, decided_by=user.name, comment=comment)
    except NotFound as exc:
        raise _fail(str(exc)) from exc
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"{res.approval.status.value}: {res.approval.subject}")
    console.print(f"{res.effect} Campaign status: {res.campaign_status}.")


@app.command()
def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    by: Annotated[str, typer.Option(help="The approving user (audited).")] = _ME,
    comment: Annotated[str | None, typer.Option(help="A comment for the audit trail.")] = None,
) -> None:
    """Approve a pending launch or revision; the campaign resumes."""
    _decide(approval_id, True, by, comment)


@app.command()
def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    comment: Annotated[str, typer.Option(help="Why (required, audited).")],
    by: Annotated[str, typer.Option(help="The rejecting user (audited).")] = _ME,
) -> None:
    """Reject a pending launch or revision."""
    _decide(approval_id, False, by, comment)


sources_app = typer.Typer(help="Event sources: each has a write key for the event API.")
app.add_typer(sources_app, name="sources")


@sources_app.command("add")
def sources_add(
    name: Annotated[str, typer.Argument(help="A name for the source, e.g. `web`.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an event source and print its write key (shown once; only its hash is stored)."""
    from core.db import Database
    from core.events import create_source

    settings = _settings()
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.migrate()
    try:
        source, write_key = create_source(db, name)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps({"id": source.id, "name": source.name, "write_key": write_key}))
        return
    console.print(f"Source {source.name} ({source.id}) created. Write key (shown only now):")
    print(write_key)
    console.print(
        "Send events with HTTP Basic auth, the key as user name: "
        f"curl -u {write_key}: {settings.public_base_url.rstrip('/')}/v1/track -d '{{...}}'"
    )


@app.command()
def campaigns(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List campaigns."""
    from core.campaigns import list_campaigns
    from core.db import Database

    db = Database(_settings().db_url)
    db.migrate()
    items = list_campaigns(db)
    if as_json:
        print(json.dumps([c.model_dump() for c in items], indent=2))
        return
    table = Table("id", "name", "status", "engine", "created")
    for c in items:
        table.add_row(c.id, c.name, c.status, c.engine, c.created_at[:19])
    console.print(table)


@app.command()
def report(campaign_id: Annotated[str, typer.Argument(help="The campaign id.")]) -> None:
    """Print a campaign's report (plan, outbox, lift with interval, arms, revisions) as JSON."""
    from agents.reporting import campaign_report
    from core.campaigns import NotFound
    from graphs.runtime import build_deps

    deps = build_deps(_settings(), with_rules=False)
    try:
        print(
            json.dumps(
                campaign_report(deps.db, campaign_id, prices=deps.settings.llm_prices).model_dump(
                    mode="json"
                ),
                indent=2,
            )
        )
    except NotFound as exc:
        raise _fail(str(exc)) from exc


@app.command()
def measure(
    file: Annotated[Path, typer.Argument(help="CSV: one row per person.", dir_okay=False)],
    group_col: Annotated[str, typer.Option("--group-col", help="Column holding the group.")],
    control: Annotated[str, typer.Option(help="Value of the group column for the control.")],
    metric: Annotated[
        list[str], typer.Option(help="Outcome column (0/1 for a rate); repeat for more.")
    ],
    covariate: Annotated[
        str | None,
        typer.Option(help="Pre-period column (e.g. past spend): also report CUPED-adjusted lifts."),
    ] = None,
    confidence: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Measure a finished experiment: every group against the control, with 95 % intervals."""
    from tools.experiment import ExperimentInputError, format_report, measure_csv

    try:
        rep = measure_csv(
            file,
            group_col=group_col,
            control=control,
            metrics=metric,
            covariate=covariate,
            confidence=confidence,
        )
    except ExperimentInputError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(rep.model_dump_json(indent=2))
        return
    print(format_report(rep))


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit.")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Fixed clock (ISO) instead of now.")
    ] = None,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Take jobs from the distributed job queue (procrastinate on PostgreSQL): "
            "run any number of these on any number of hosts.",
        ),
    ] = False,
) -> None:
    """Scheduled autonomous runs: dispatch due messages every minute, optimize on an interval."""
    if queue:
        from api.queue import run_queue_worker
        from tools.jobqueue import QueueNeedsPostgres, conninfo

        if once:
            raise typer.BadParameter("--once and --queue do not go together", param_hint="--once")
        settings = _settings()
        try:
            conninfo(settings)
        except QueueNeedsPostgres as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        _refuse_default_secret(settings)  # activation jobs sign unsubscribe links
        run_queue_worker(settings, as_of=_parse_time(as_of), echo=console.print)
        return
    from api.worker import run_worker

    settings = _settings()
    _refuse_default_secret(settings)
    run_worker(settings, once=once, as_of=_parse_time(as_of), echo=console.print)


@app.command()
def check(
    file: Annotated[
        Path | None, typer.Argument(help="JSONL file of messages (default: stdin).", dir_okay=False)
    ] = None,
    brand: Annotated[Path | None, typer.Option(help="Brand kit YAML (default: settings).")] = None,
    channel: Annotated[
        str | None, typer.Option(help="Channel for messages without one: email, sms or push.")
    ] = None,
    spam_words: Annotated[
        Path | None, typer.Option(help="Spam word list (folder or TSV) for the spam score.")
    ] = None,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Also ask the LLM judge (tone, claims); needs OPENAI_API_KEY (+ BASE_URL).",
        ),
    ] = False,
) -> None:
    """Check copy against the brand's guardrails: JSONL in, one JSON result per line out.

    Exit code 0 when every line was read (whatever the verdicts), 2 when a line could not be
    read: that line gets an `{"id", "error"}` record and all other lines are still checked.
    """
    from api.check import JUDGE_NEEDS_AN_LLM, CheckError, check_jsonl, judge_available
    from brand_guardrails.kit import BrandKitError, load_brand_kit
    from core.models import Channel
    from tools.llm import LLMClient

    default_channel: Channel | None = None
    if channel is not None:
        try:
            default_channel = Channel(channel.lower())
        except ValueError as exc:
            raise _fail(f"Unknown channel {channel!r}: use email, sms or push.") from exc
    try:
        kit = load_brand_kit(brand or _settings().brand_path)
    except BrandKitError as exc:
        raise _fail(str(exc)) from exc
    if spam_words is not None:
        if not spam_words.exists():
            raise _fail(f"{spam_words}: no such spam word list.")
        spam = kit.spam.model_copy(update={"words_path": spam_words})
        kit = kit.model_copy(update={"spam": spam})
    llm = LLMClient(_settings())
    if judge and not judge_available(llm):
        raise _fail(f"--judge: {JUDGE_NEEDS_AN_LLM}.")
    try:
        source = file.open(encoding="utf-8") if file else sys.stdin
    except OSError as exc:
        raise _fail(f"{file}: cannot read: {exc.strerror or exc}") from exc
    failed = False
    with source:
        try:
            for res in check_jsonl(kit, source, channel=default_channel, llm=llm, judge_all=judge):
                failed |= isinstance(res, CheckError)
                sys.stdout.write(res.model_dump_json() + "\n")
                sys.stdout.flush()
        finally:
            llm.close()
    if failed:
        err.print('[red]error:[/red] some lines could not be read; see the records with "error".')
        raise typer.Exit(2)


@app.command("eval")
def eval_(
    report: Annotated[Path | None, typer.Option(help="Report directory.")] = None,
    shared_data: Annotated[
        Path | None, typer.Option(help="Folder of the shared real data sets (optional).")
    ] = None,
    planner: Annotated[
        bool,
        typer.Option(
            "--planner",
            help="Run the planner eval instead (briefs → plans; the LLM engine when configured).",
        ),
    ] = False,
) -> None:
    """Run the guardrail evals (or, with --planner, the planner eval); exits non-zero when a
    threshold is missed."""
    from brand_guardrails.kit import load_brand_kit
    from evals.runner import DATASETS_DIR, run_evals
    from tools.llm import LLMClient

    settings = _settings()
    out = report or settings.data_dir / "eval"
    if planner:
        _planner_eval(settings, out)
        return
    kit = load_brand_kit(settings.brand_path)
    llm = LLMClient(settings)  # offline: the adversarial-generation part is skipped and reported
    try:
        res = run_evals(
            kit, datasets_dir=DATASETS_DIR, report_dir=out, shared_data=shared_data, llm=llm
        )
    finally:
        llm.close()
    console.print(f"eval report: {out / 'report.md'}")
    if not res.passed:
        for f in res.failures:
            err.print(f"[red]FAIL[/red] {f}")
        raise typer.Exit(1)
    console.print("[green]all eval thresholds met[/green]")


def _planner_eval(settings: Settings, out: Path) -> None:
    """`autocmo eval --planner`: score the planner on the shipped briefs and print the table."""
    from evals.planner_eval import (
        load_planner_cases,
        planner_table,
        run_planner_eval,
        sample_catalog,
        write_planner_report,
    )
    from evals.runner import DATASETS_DIR
    from tools.llm import LLMClient

    llm = LLMClient(settings)
    try:
        res = run_planner_eval(
            llm,
            cases=load_planner_cases(DATASETS_DIR / "planner_briefs.jsonl"),
            products=sample_catalog(),
        )
    finally:
        llm.close()
    path = write_planner_report(res, out)
    console.print(planner_table(res), markup=False, highlight=False)
    console.print(f"planner eval report: {path.with_suffix('.json')}")
    if not res.passed:
        for f in res.failures:
            err.print(f"[red]FAIL[/red] {f}")
        raise typer.Exit(1)
    console.print("[green]all planner eval thresholds met[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per core).")] = 1,
    generate_secret: Annotated[
        bool,
        typer.Option(
            "--generate-secret",
            help="On a first run without AUTOCMO_SECRET_KEY, write a random key to the data "
            "directory (mode 0600); every autocmo process on that directory then uses it.",
        ),
    ] = False,
) -> None:
    """Serve the workspace and the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = _settings()
    if settings.default_secret and generate_secret:
        console.print(f"Wrote a new secret key to {settings.generate_secret()}.")
    _refuse_default_secret(settings)
    if workers > 1:  # each process builds its app from the environment
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            access_log=access_log,
            workers=workers,
        )
        return
    from api.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, access_log=access_log)


def main() -> None:
    """Console entry point."""
    set_process_environment()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
