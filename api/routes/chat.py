"""The brief chat: one conversation per draft (one campaign graph thread).

The marketer writes a brief, answers the planner's questions and asks for changes in the same
thread, then submits the plan for approval; a rejected plan is revised here and submitted
again. The agents work in a background thread while the page polls a status fragment (htmx),
so the page shows progress instead of a frozen form. Every form carries the CSRF token; who
writes is the logged-in user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AppDeps, Reader, Writer
from api.rendering import render
from core import campaigns as repo
from core.drafts import list_messages
from core.models import CampaignStatus
from graphs.operations import (
    DraftConflict,
    DraftRun,
    open_draft,
    plan_draft,
    prepare_reply,
    prepare_submit,
    waiting_for,
)

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

_DONE = {
    "plan": "Plan drafted",
    "ask": "Answer read",
    "review": "Request read",
    "write": "Messages written",
    "check": "Copy checked against the brand's rules",
    "gate": "Approval policy checked",
    "activate": "Messages scheduled",
}
_NEXT = {
    "plan": "Writing the messages for each step",
    "ask": "Planning again with your answer",
    "write": "Checking the copy against the brand's rules",
    "check": "Checking the approval policy",
    "gate": "Scheduling the messages",
}


@dataclass
class DraftJob:
    """The agents' work on one draft message, running in a background thread."""

    doing: str
    """What the agents are doing now, in words."""
    started: float = field(default_factory=time.monotonic)
    """When the work started (monotonic seconds)."""
    done: list[str] = field(default_factory=list)
    """What is finished so far, in words."""
    finished: threading.Event = field(default_factory=threading.Event)
    """Set when the work ended (whatever the outcome)."""

    def step(self, node: str) -> None:
        """A graph node finished."""
        if node in _DONE and node != "review":
            self.done.append(_DONE[node])
        self.doing = _NEXT.get(node, self.doing)

    @property
    def seconds(self) -> int:
        """Seconds since the work started."""
        return int(time.monotonic() - self.started)


class DraftJobs:
    """The brief chat's background work: one job per draft at a time."""

    def __init__(self) -> None:
        self._jobs: dict[str, DraftJob] = {}
        self._lock = threading.Lock()

    def get(self, campaign_id: str) -> DraftJob | None:
        """The running job of a draft, if any."""
        with self._lock:
            return self._jobs.get(campaign_id)

    def start(self, campaign_id: str, doing: str, prepare: Callable[[], DraftRun]) -> None:
        """Check and record the message now (`prepare`, errors raise here), then run the
        graph in a background thread. A draft that is still working refuses (409)."""
        job = DraftJob(doing=doing)
        with self._lock:
            if campaign_id in self._jobs:
                raise HTTPException(
                    409, "The agents are still working on your last message: wait for the reply."
                )
            self._jobs[campaign_id] = job
        try:
            run = prepare()
        except BaseException:
            self._end(campaign_id, job)
            raise

        def work() -> None:
            try:
                run(job.step)
            except Exception:  # the draft shows it (operations records the error message)
                log.exception("draft %s: the graph run failed", campaign_id)
            finally:
                self._end(campaign_id, job)

        threading.Thread(target=work, name=f"draft-{campaign_id}", daemon=True).start()

    def wait(self, campaign_id: str, timeout: float) -> bool:
        """Wait until the draft's job ends; False on timeout (tests, the CLI)."""
        job = self.get(campaign_id)
        return job is None or job.finished.wait(timeout)

    def _end(self, campaign_id: str, job: DraftJob) -> None:
        with self._lock:
            self._jobs.pop(campaign_id, None)
        job.finished.set()


def draft_jobs(request: Request) -> DraftJobs:
    """The app's background work of the brief chat."""
    jobs: DraftJobs | None = getattr(request.app.state, "draft_jobs", None)
    if jobs is None:
        jobs = request.app.state.draft_jobs = DraftJobs()
    return jobs


@router.get("/briefs/new", response_class=HTMLResponse)
def brief_form(request: Request, deps: AppDeps, user: Writer, text: str = "") -> HTMLResponse:
    """Write a brief; the marketer's open drafts are listed to continue."""
    open_states = {CampaignStatus.NEEDS_INPUT, CampaignStatus.PLANNED, CampaignStatus.REJECTED}
    mine = [
        c
        for c in repo.list_campaigns(deps.db)
        if c.created_by == user.name and c.status in open_states
    ]
    return render(request, "chat/new.html", text=text, drafts=mine[:10])


@router.post("/briefs")
async def brief_submit(
    request: Request,
    deps: AppDeps,
    user: Writer,
    text: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Open a draft for the brief and let the planner work on it in the background."""
    try:
        cid = await run_in_threadpool(open_draft, deps, text, submitted_by=user.name)
    except ValueError as exc:
        return render(request, "chat/new.html", status=422, text=text, drafts=[], error=str(exc))
    draft_jobs(request).start(
        cid,
        "Reading the brief and drafting the plan",
        lambda: lambda on_step: plan_draft(deps, cid, review=True, on_step=on_step),
    )
    return RedirectResponse(f"/drafts/{cid}", status_code=303)


@router.get("/drafts/{campaign_id}", response_class=HTMLResponse)
def draft_page(campaign_id: str, request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """A draft's conversation, with the box for the next message."""
    return render(request, "chat/draft.html", **_thread(request, deps, campaign_id))


@router.get("/drafts/{campaign_id}/thread", response_class=HTMLResponse)
def draft_thread(campaign_id: str, request: Request, deps: AppDeps, _user: Reader) -> HTMLResponse:
    """The conversation as a fragment: the page polls it while the agents work."""
    return render(request, "chat/thread.html", **_thread(request, deps, campaign_id))


@router.post("/drafts/{campaign_id}/messages")
async def draft_message(
    campaign_id: str,
    request: Request,
    deps: AppDeps,
    user: Writer,
    text: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The marketer's answer or change request: the same graph thread continues with it."""
    return await _start(
        request,
        deps,
        campaign_id,
        "Reading your message and planning again",
        lambda: prepare_reply(deps, campaign_id, text, by=user.name),
        text=text,
    )


@router.post("/drafts/{campaign_id}/submit")
async def draft_submit(campaign_id: str, request: Request, deps: AppDeps, user: Writer) -> Response:
    """Submit the reviewed plan for approval."""
    return await _start(
        request,
        deps,
        campaign_id,
        "Writing the messages for each step",
        lambda: prepare_submit(deps, campaign_id, by=user.name),
    )


async def _start(
    request: Request,
    deps: AppDeps,
    campaign_id: str,
    doing: str,
    prepare: Callable[[], DraftRun],
    text: str = "",
) -> Response:
    repo.get_campaign(deps.db, campaign_id)  # 404 first
    jobs = draft_jobs(request)
    try:
        await run_in_threadpool(jobs.start, campaign_id, doing, prepare)
    except (DraftConflict, ValueError) as exc:
        status = 409 if isinstance(exc, DraftConflict) else 422
        ctx = await run_in_threadpool(_thread, request, deps, campaign_id)
        return render(request, "chat/draft.html", status=status, error=str(exc), text=text, **ctx)
    return RedirectResponse(f"/drafts/{campaign_id}", status_code=303)


def _thread(request: Request, deps: AppDeps, campaign_id: str) -> dict[str, Any]:
    camp = repo.get_campaign(deps.db, campaign_id)
    job = draft_jobs(request).get(campaign_id)
    messages = list_messages(deps.db, campaign_id)
    waiting = None if job else waiting_for(deps, campaign_id)
    approval_id = next(
        (m.data["approval_id"] for m in reversed(messages) if m.data.get("approval_id")), None
    )
    return {
        "campaign": camp,
        "messages": messages,
        "job": job,
        "waiting": waiting,
        "approval_id": approval_id,
        "stalled": not job and waiting is None and camp.status in _OPEN_WITHOUT_PAUSE,
    }


_OPEN_WITHOUT_PAUSE = {CampaignStatus.DRAFT, CampaignStatus.PLANNED, CampaignStatus.NEEDS_INPUT}
"""Statuses in which a draft that is neither working nor paused has stopped half-way."""
