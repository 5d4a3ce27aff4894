"""A triggered (always-on) cart-abandonment journey on a real SQLite file: the planner makes it
from a plain brief, people enter from events posted to `/v1/batch` and `/v1/track` after launch,
buyers don't, the holdout is drawn at entry, re-entry is limited, and a second worker run
enters nobody twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.worker import run_worker
from core.campaigns import assignments, save_plan
from core.db import ConsentRow, JourneyEntryRow, MessageRow
from core.events import create_source
from core.models import Audience, AudienceFilter, EntryTrigger, MessageStatus
from core.settings import Settings
from graphs.operations import decide, submit_brief
from graphs.runtime import Deps
from tests.integration.conftest import NOW, run_cli, seeded
from tools.audience import compute_features, split_holdout

pytestmark = pytest.mark.integration

BRIEF = "Remind people who leave something in their cart, by email."


def _quiet(_: str) -> None:
    """Worker output is not asserted here."""


def _event(mid: str, user: str, name: str, at: datetime) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": mid,
        "userId": user,
        "event": name,
        "properties": {"product_id": "p1"},
        "timestamp": at.isoformat(),
    }


def _entries(deps: Deps, cid: str) -> list[JourneyEntryRow]:
    with deps.db.session() as s:
        return list(s.scalars(select(JourneyEntryRow).where(JourneyEntryRow.campaign_id == cid)))


def _messages(deps: Deps, cid: str) -> list[MessageRow]:
    with deps.db.session() as s:
        return list(s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)))


def test_a_cart_abandonment_journey_enrols_people_from_events_after_launch(
    settings: Settings,
) -> None:
    deps = seeded(settings, customers=300, with_rules=False)
    res = submit_brief(deps, BRIEF)
    assert res.plan is not None and res.approval_id
    trig = res.plan.objective.trigger
    assert trig is not None
    assert (trig.event, trig.unless_event, trig.wait_hours) == (
        "Product Added",
        "Order Completed",
        4,
    )
    assert res.audience_size == 0  # nobody is drawn up front
    decide(deps, res.approval_id, approved=True, decided_by="ana")
    cid = res.campaign_id
    assert _messages(deps, cid) == [] and assignments(deps.db, cid) == []

    with deps.db.session() as s:
        emailable = sorted(
            s.scalars(
                select(ConsentRow.customer_id).where(
                    ConsentRow.channel == "email", ConsentRow.granted.is_(True)
                )
            )
        )
    # Enough people that both groups of the holdout draw are non-empty.
    people = emailable[:40]
    treated_all, holdout_all = split_holdout(cid, people, res.plan.holdout_fraction)
    assert treated_all and holdout_all
    buyers, abandoners = people[:5], people[5:]
    _source, write_key = create_source(deps.db, "web")
    with TestClient(create_app(deps=deps)) as http:
        http.auth = (write_key, "")
        batch = [
            _event(f"before-{u}", u, "Product Added", NOW - timedelta(hours=1)) for u in people
        ]
        batch += [_event(f"add-{u}", u, "Product Added", NOW + timedelta(hours=1)) for u in people]
        r = http.post("/v1/batch", json={"batch": batch})
        assert r.status_code == 200 and r.json()["accepted"] == len(batch), r.text
        for u in buyers:  # the checkout backend reports each order as it happens
            r = http.post(
                "/v1/track", json=_event(f"buy-{u}", u, "Order Completed", NOW + timedelta(hours=2))
            )
            assert r.json()["accepted"] == 1, r.text

        # Four hours have not passed since the adds: nobody yet.
        run_worker(settings, once=True, as_of=NOW + timedelta(hours=4), echo=_quiet)
        assert _entries(deps, cid) == []
        # Then the abandoners enter (the buyers and the events before launch do not); twice.
        as_of = NOW + timedelta(hours=6)
        out = run_cli(settings, "worker", "--once", "--as-of", as_of.isoformat())
        assert out.returncode == 0, out.stderr
        run_worker(settings, once=True, as_of=as_of + timedelta(minutes=5), echo=_quiet)
        entries = _entries(deps, cid)
        assert sorted(e.customer_id for e in entries) == abandoners
        groups = dict(assignments(deps.db, cid))
        assert {u for u, g in groups.items() if g == "holdout"} == set(holdout_all) & set(
            abandoners
        )
        for e in entries:
            assert e.group == groups[e.customer_id]
            assert e.entered_at == NOW + timedelta(hours=5)

        msgs = _messages(deps, cid)
        steps = len(res.plan.journey)
        treated = [u for u in abandoners if groups[u] == "treated"]
        assert len(msgs) == len(treated) * steps  # the holdout gets nothing
        assert {m.customer_id for m in msgs} == set(treated)
        assert all(m.scheduled_at >= as_of for m in msgs)

        # They add to cart again the next day: within 30 days, nobody re-enters.
        again = [
            _event(f"again-{u}", u, "Product Added", NOW + timedelta(days=1)) for u in abandoners
        ]
        assert http.post("/v1/batch", json={"batch": again}).json()["accepted"] == len(abandoners)
        run_worker(settings, once=True, as_of=NOW + timedelta(days=2), echo=_quiet)
        assert len(_entries(deps, cid)) == len(abandoners)
        sent = [m for m in _messages(deps, cid) if m.status == MessageStatus.SENT]
        assert sent and {m.customer_id for m in sent} <= set(treated)
    deps.db.dispose()


def test_a_segment_trigger_enrols_people_when_their_events_bring_them_into_it(
    settings: Settings,
) -> None:
    deps = seeded(settings, customers=300, with_rules=False)
    res = submit_brief(deps, BRIEF)
    assert res.plan is not None and res.approval_id
    repeat = Audience(
        name="Repeat buyers", filters=[AudienceFilter(feature="frequency", op="gte", value=2)]
    )
    plan = res.plan.model_copy(
        update={
            "objective": res.plan.objective.model_copy(
                update={"trigger": EntryTrigger(segment=repeat, reentry_days=None)}
            )
        }
    )
    cid = res.campaign_id
    save_plan(deps.db, cid, plan)  # the marketer's edit: enter on becoming a repeat buyer
    decide(deps, res.approval_id, approved=True, decided_by="ana")

    with deps.db.session() as s:
        emailable = set(
            s.scalars(
                select(ConsentRow.customer_id).where(
                    ConsentRow.channel == "email", ConsentRow.granted.is_(True)
                )
            )
        )
        features = compute_features(s, as_of=NOW, customer_ids=emailable)
    by_orders: dict[int, list[str]] = {}
    for c, f in sorted(features.items()):
        by_orders.setdefault(min(f.frequency, 2), []).append(c)
    second, first, more = by_orders[1][:30], by_orders[0][:5], by_orders[2][:5]
    assert len(second) == 30 and len(first) == len(more) == 5

    _source, write_key = create_source(deps.db, "checkout")
    with TestClient(create_app(deps=deps)) as http:
        http.auth = (write_key, "")
        # a new person: identified after launch (created, with consent), then buys twice
        hello = {
            "type": "identify",
            "messageId": "id-new",
            "userId": "cus_new",
            "traits": {"email": "new@example.com", "email_consent": True},
            "timestamp": (NOW + timedelta(minutes=30)).isoformat(),
        }
        orders = [hello] + [
            _event(f"o-{u}", u, "Order Completed", NOW + timedelta(hours=1))
            for u in second + first + more + ["cus_new"]
        ]
        orders.append(_event("o2-new", "cus_new", "Order Completed", NOW + timedelta(hours=1)))
        assert http.post("/v1/batch", json={"batch": orders}).json()["accepted"] == len(orders)
        run_worker(settings, once=True, as_of=NOW + timedelta(hours=2), echo=_quiet)
        run_worker(settings, once=True, as_of=NOW + timedelta(hours=3), echo=_quiet)
        # they buy again: still in the segment, nobody enters again
        again = [_event(f"o2-{u}", u, "Order Completed", NOW + timedelta(hours=4)) for u in second]
        assert http.post("/v1/batch", json={"batch": again}).json()["accepted"] == len(again)
        run_worker(settings, once=True, as_of=NOW + timedelta(hours=5), echo=_quiet)

    entries = _entries(deps, cid)
    entered = sorted([*second, "cus_new"])
    assert sorted(e.customer_id for e in entries) == entered  # a first order or a third: no
    treated, holdout = split_holdout(cid, entered, plan.holdout_fraction)
    groups = dict(assignments(deps.db, cid))
    assert {u for u, g in groups.items() if g == "holdout"} == set(holdout)
    assert all(e.entered_at == NOW + timedelta(hours=1) for e in entries)
    msgs = _messages(deps, cid)
    assert {m.customer_id for m in msgs} == set(treated)
    assert len(msgs) == len(treated) * len(plan.journey)
    deps.db.dispose()
