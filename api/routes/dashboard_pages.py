"""A campaign's dashboard page: status with pause, resume and stop (marketers and up), the
funnel, lift against the holdout with its 95 % interval over time, the allocation per arm over
time, skipped messages by reason, and the decision timeline from the audit trail."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from agents.reporting import campaign_report, campaign_series
from api.charts import allocation_chart, lift_chart
from api.deps import AppDeps, Reader, Writer
from api.rendering import render
from core.audit import list_decisions
from core.drafts import list_messages
from core.lifecycle import (
    TransitionError,
    allowed_actions,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from core.models import Decision
from graphs.runtime import Deps

router = APIRouter(include_in_schema=False)

_ACTIONS = {"pause": pause_campaign, "resume": resume_campaign, "stop": stop_campaign}
_DONE = {"pause": "Paused", "resume": "Resumed", "stop": "Stopped"}


def _dashboard(
    request: Request, deps: Deps, campaign_id: str, *, notice: str = "", error: str = ""
) -> HTMLResponse:
    rep = campaign_report(deps.db, campaign_id)
    series = campaign_series(deps.db, campaign_id)
    m = rep.measurement
    clicks = sum(s.clicked for s in m.steps)  # people who clicked, per step
    funnel = [
        ("scheduled", sum(rep.messages.values())),
        ("sent", rep.messages.get("sent", 0)),
        ("clicked", clicks),
        ("converted", m.conversions_treated),
    ]
    return render(
        request,
        "pages/dashboard.html",
        status=409 if error else 200,
        report=rep,
        funnel=funnel,
        funnel_max=max([n for _, n in funnel] + [1]),
        lift=m.conversion_lift if m.messages_sent else None,  # no lift before anything is sent
        lift_svg=lift_chart(series.lift) if series.lift else None,
        allocation_svg=allocation_chart(series.sends, series.arms) if series.sends else None,
        actions=allowed_actions(rep.campaign.status),
        timeline=_fold(list_decisions(deps.db, campaign_id)),
        has_thread=bool(list_messages(deps.db, campaign_id)),
        notice=notice[:300],
        error=error,
    )


def _fold(decisions: list[Decision]) -> list[list[Decision]]:
    """The audit trail with runs of the same agent and action (e.g. dispatch runs) grouped,
    so the few decisions a person made stand out."""
    runs: list[list[Decision]] = []
    for d in decisions:
        if runs and (runs[-1][0].agent, runs[-1][0].action) == (d.agent, d.action):
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def dashboard(
    campaign_id: str, request: Request, deps: AppDeps, _user: Reader, notice: str = ""
) -> HTMLResponse:
    """A campaign's dashboard."""
    return _dashboard(request, deps, campaign_id, notice=notice)


@router.post("/campaigns/{campaign_id}/control", response_class=HTMLResponse)
def control(
    campaign_id: str,
    request: Request,
    deps: AppDeps,
    user: Writer,
    action: Annotated[str, Form(pattern="^(pause|resume|stop)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Pause, resume or stop as the logged-in user (the same rules and audit as the API)."""
    try:
        change = _ACTIONS[action](
            deps.db, campaign_id, by=user.name, reason=reason.strip() or "from the dashboard"
        )
    except TransitionError as exc:
        return _dashboard(request, deps, campaign_id, error=str(exc))
    notice = f"{_DONE[action]} by {user.name}."
    if change.messages_skipped:
        notice += f" {change.messages_skipped} scheduled messages will not be sent."
    return RedirectResponse(f"/campaigns/{campaign_id}?notice={quote(notice)}", status_code=303)
