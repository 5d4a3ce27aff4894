"""The Segment-style event API and tracking links over real HTTP routes on a real SQLite file:
write keys, idempotency, per-event errors, the size limit, identity stitching, conversions for
treated and holdout members, clicks and opens."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agents.optimizer import measure
from api.app import create_app
from core.campaigns import create_campaign, save_assignments
from core.customers import get_customers
from core.db import Database, DecisionRow, EventRow, IdentityRow, OutcomeRow, SourceRow
from core.events import create_source, hash_write_key, ingest_events, parse_events
from core.messages import write_outbox
from core.models import TrackingPolicy
from core.settings import Settings
from graphs.runtime import Deps, build_deps
from tests.integration.conftest import run_cli
from tools.delivery.tracking import click_url, open_pixel_url, track_links, track_sms_links
from tools.importer import import_file
from tools.sms_encoding import segments

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def deps(settings: Settings) -> Iterator[Deps]:
    """Runtime dependencies on an empty database (no rule store: nothing here checks copy)."""
    d = build_deps(settings, with_rules=False)
    yield d
    d.db.dispose()


@pytest.fixture
def client(deps: Deps) -> Iterator[TestClient]:
    """An HTTP client with a valid write key as Basic auth."""
    _source, key = create_source(deps.db, "web")
    with TestClient(create_app(deps=deps)) as c:
        c.auth = (key, "")
        yield c


def _track(mid: str, user: str, name: str, at: datetime, **props: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": mid,
        "userId": user,
        "event": name,
        "properties": props,
        "timestamp": at.isoformat(),
    }


def _campaign(
    db: Database,
    members: list[tuple[str, str]],
    sends: list[tuple[str, datetime]],
    *,
    channel: str = "email",
    body: str = "Shop https://northwind.example/new now.",
) -> str:
    """A campaign with these (person, group) members and sent messages (person, sent_at)."""
    cid = create_campaign(db, brand_id="northwind", brief="test", engine="offline").id
    save_assignments(db, cid, [(p, g, "all") for p, g in members])
    write_outbox(
        db,
        [
            {
                "id": f"msg_{cid}_{i}",
                "idempotency_key": f"{cid}:{i}",
                "campaign_id": cid,
                "step_id": "s1",
                "customer_id": person,
                "variant_id": "v1",
                "arm": "A",
                "channel": channel,
                "to_address": f"{person}@example.com",
                "subject": "Hi",
                "body": body,
                "scheduled_at": at,
                "status": "sent",
                "sent_at": at,
            }
            for i, (person, at) in enumerate(sends)
        ],
        [],
    )
    return cid


def _outcomes(db: Database, kind: str) -> list[tuple[str, str, str | None, float]]:
    with db.session() as s:
        return sorted(
            (r.campaign_id, r.customer_id, r.message_id, r.value)
            for r in s.scalars(select(OutcomeRow).where(OutcomeRow.kind == kind))
        )


def test_write_key_is_required_and_stored_hashed(deps: Deps) -> None:
    with TestClient(create_app(deps=deps)) as anon:
        r = anon.post("/v1/track", json=_track("m1", "c1", "Product Viewed", T0))
        assert r.status_code == 401 and "autocmo sources add" in r.json()["detail"]
        r = anon.post("/v1/track", json=_track("m1", "c1", "Product Viewed", T0), auth=("nope", ""))
        assert r.status_code == 401 and "unknown write key" in r.json()["detail"]
    _source, key = create_source(deps.db, "app")
    with deps.db.session() as s:
        row = s.scalars(select(SourceRow)).one()
        assert row.write_key_hash == hash_write_key(key) and key not in row.write_key_hash
    with pytest.raises(ValueError, match="exists already"):
        create_source(deps.db, "app")


def test_track_is_idempotent_on_message_id(client: TestClient, deps: Deps) -> None:
    event = _track("m1", "c1", "Product Added", T0, product_id="p1", price=20)
    first = client.post("/v1/track", json=event).json()
    again = client.post("/v1/track", json=event).json()
    assert (first["accepted"], first["duplicates"]) == (1, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 1) and again["success"]
    page = client.post(
        "/v1/page", json={"messageId": "p1", "anonymousId": "d1", "name": "Home"}
    ).json()
    assert page["accepted"] == 1
    with deps.db.session() as s:
        rows = {r.message_id: r for r in s.scalars(select(EventRow))}
    assert set(rows) == {"m1", "p1"}
    assert rows["m1"].event == "Product Added" and rows["m1"].properties["price"] == 20
    assert rows["p1"].user_id == "anon:d1" and rows["p1"].event == "Home"
    assert rows["p1"].timestamp.tzinfo is not None  # no timestamp given: the time received


def test_batch_stores_the_good_events_and_names_the_bad_ones(
    client: TestClient, deps: Deps
) -> None:
    batch = [
        _track("b0", "c1", "Product Viewed", T0),
        {"type": "track", "messageId": "b1", "event": "Product Viewed"},  # nobody
        _track("b2", "c1", "Order Completed", T0, revenue="lots"),
        {"type": "alias", "messageId": "b3", "userId": "c1"},
        _track("b4", "c2", "Order Completed", T0, revenue=12.5),
        "not an object",
        {"type": "track", "messageId": "b6", "userId": "c1"},  # no event name
    ]
    r = client.post("/v1/batch", json={"batch": batch, "context": {"library": {"name": "t"}}})
    assert r.status_code == 200
    body = r.json()
    assert body["accepted"] == 2 and not body["success"]
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 5, 6]
    assert errors[1]["field"] == "userId"
    assert errors[2]["field"] == "properties.revenue" and "number" in errors[2]["message"]
    assert errors[3]["field"] == "type"
    assert errors[6]["field"] == "event"
    with deps.db.session() as s:
        assert set(s.scalars(select(EventRow.message_id))) == {"b0", "b4"}
    all_bad = client.post("/v1/batch", json={"batch": [batch[1]]})
    assert all_bad.status_code == 400
    assert client.post("/v1/batch", json={"events": []}).status_code == 400
    assert client.post("/v1/track", content=b"{not json").status_code == 400


def test_a_body_over_500_kb_is_refused_before_it_is_read(client: TestClient, deps: Deps) -> None:
    big = {
        "batch": [_track(f"x{i}", "c1", "Product Viewed", T0, pad="x" * 1000) for i in range(600)]
    }
    assert client.post("/v1/batch", json=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"batch": ['
        for i in range(600):
            yield json.dumps(_track(f"y{i}", "c1", "Product Viewed", T0, pad="x" * 1000)).encode()
            yield b","
        yield b"]}"

    assert client.post("/v1/batch", content=chunks()).status_code == 413
    with deps.db.session() as s:
        assert s.scalars(select(EventRow)).first() is None


def test_identify_stitches_anonymous_history_and_its_purchases(
    client: TestClient, deps: Deps
) -> None:
    cid = _campaign(deps.db, [("c1", "holdout"), ("t9", "treated")], [("t9", T0)])
    anon = [
        {"type": "page", "messageId": "a1", "anonymousId": "dev9", "timestamp": T0.isoformat()},
        {
            "type": "track",
            "messageId": "a2",
            "anonymousId": "dev9",
            "event": "Order Completed",
            "properties": {"products": [{"price": 10, "quantity": 3}]},
            "timestamp": (T0 + timedelta(hours=1)).isoformat(),
        },
    ]
    assert client.post("/v1/batch", json={"batch": anon}).json()["accepted"] == 2
    assert _outcomes(deps.db, "converted") == []  # nobody to count it for yet
    r = client.post(
        "/v1/identify",
        json={"messageId": "i1", "userId": "c1", "anonymousId": "dev9", "traits": {"plan": "x"}},
    )
    assert r.json()["accepted"] == 1
    later = {"messageId": "a3", "anonymousId": "dev9", "event": "Product Viewed"}
    client.post("/v1/track", json=later)
    with deps.db.session() as s:
        owners = dict(s.execute(select(EventRow.message_id, EventRow.user_id)).all())
        link = s.get(IdentityRow, "dev9")
        trail = s.scalars(
            select(DecisionRow).where(DecisionRow.action == "identity_stitched")
        ).all()
    assert owners == {"a1": "c1", "a2": "c1", "i1": "c1", "a3": "c1"}
    assert link is not None and link.user_id == "c1"
    assert len(trail) == 1 and trail[0].evidence == {
        "anonymous_id": "dev9",
        "user_id": "c1",
        "events": 2,
    }
    assert _outcomes(deps.db, "converted") == [(cid, "c1", None, 30.0)]


def test_identify_traits_update_the_customer_checked_as_an_import(
    client: TestClient, deps: Deps
) -> None:
    def identify(mid: str, at: datetime, **traits: Any) -> dict[str, Any]:
        return {"messageId": mid, "userId": "c7", "traits": traits, "timestamp": at.isoformat()}

    first = identify(
        "i1",
        T0,
        email="ana@Example.COM",
        phone="(415) 555-0100",
        country="us",
        firstName="Ana",
        lastName="Lind",
        locale="de-DE",
        timezone="Europe/Berlin",
        email_consent=True,
        plan="gold",
    )
    assert client.post("/v1/identify", json=first).json()["accepted"] == 1
    [person] = get_customers(deps.db, ["c7"]).values()  # a new person is created
    assert (person.email, person.phone, person.country) == ("ana@example.com", "+14155550100", "US")
    assert (person.first_name, person.last_name) == ("Ana", "Lind")
    assert (person.locale, person.timezone) == ("de-DE", "Europe/Berlin")
    assert person.traits == {"plan": "gold"}
    assert [(c.channel.value, c.granted, c.source) for c in person.consent] == [
        ("email", True, "identify")
    ]

    bad = [
        identify("i2", T0, email="ana at example"),
        identify("i3", T0, timezone="Mars/Olympus"),
        identify("i4", T0, phone="12"),
        identify("i5", T0, sms_consent="sure"),
        identify("i6", T0 + timedelta(days=1), email="ana.lind@example.com", tier=2),
    ]
    r = client.post("/v1/batch", json={"batch": [{**e, "type": "identify"} for e in bad]}).json()
    assert r["accepted"] == 1
    assert {e["index"]: e["field"] for e in r["errors"]} == {
        0: "traits.email",
        1: "traits.timezone",
        2: "traits.phone",
        3: "traits.sms_consent",
    }
    older = identify("i7", T0 - timedelta(days=1), email_consent=False)  # older than the consent
    newer = identify("i8", T0 + timedelta(days=2), sms_consent=True)
    assert (
        client.post(
            "/v1/batch",
            json={"batch": [{**older, "type": "identify"}, {**newer, "type": "identify"}]},
        ).json()["accepted"]
        == 2
    )
    [person] = get_customers(deps.db, ["c7"]).values()
    assert person.email == "ana.lind@example.com" and person.traits == {"plan": "gold", "tier": 2}
    assert {c.channel.value: c.granted for c in person.consent} == {"email": True, "sms": True}
    with deps.db.session() as s:
        changed = s.scalars(
            select(DecisionRow).where(DecisionRow.action == "contact_changed")
        ).all()
    assert [d.evidence["to"] for d in changed] == ["a***@example.com"]
    assert "ana.lind" not in changed[0].reason + json.dumps(changed[0].evidence)


def test_purchases_count_for_members_and_are_attributed_to_the_last_message(
    client: TestClient, deps: Deps
) -> None:
    cid = _campaign(
        deps.db,
        [("t1", "treated"), ("t2", "treated"), ("h1", "holdout")],
        [("t1", T0), ("t1", T0 + timedelta(days=1)), ("t2", T0)],
    )
    batch = [
        _track("o1", "t1", "Order Completed", T0 + timedelta(days=2), revenue=40, total=45),
        _track("o2", "t2", "Order Completed", T0 + timedelta(days=9), total=15),  # out of window
        _track("o3", "h1", "Order Completed", T0 + timedelta(days=3), revenue=25),
        _track("o4", "x9", "Order Completed", T0 + timedelta(days=3), revenue=99),  # not a member
        _track("o5", "h1", "Order Completed", T0 - timedelta(days=1), revenue=5),  # before start
        _track("o6", "h1", "Order Completed", T0 + timedelta(days=31), revenue=5),  # after window
    ]
    assert client.post("/v1/batch", json={"batch": batch}).json()["accepted"] == 6
    assert _outcomes(deps.db, "converted") == [
        (cid, "h1", None, 25.0),
        (cid, "t1", f"msg_{cid}_1", 40.0),
        (cid, "t2", None, 15.0),
    ]
    client.post("/v1/batch", json={"batch": batch})  # a retried batch adds nothing
    assert len(_outcomes(deps.db, "converted")) == 3


def test_repeat_purchases_after_one_message_each_count_their_revenue(
    client: TestClient, deps: Deps
) -> None:
    cid = _campaign(deps.db, [("t1", "treated"), ("h1", "holdout")], [("t1", T0)])
    mid = f"msg_{cid}_0"
    batch = [
        _track("r1", "t1", "Order Completed", T0 + timedelta(hours=2), revenue=40),
        _track("r2", "t1", "Order Completed", T0 + timedelta(days=2), revenue=25),
        _track("r3", "h1", "Order Completed", T0 + timedelta(days=1), revenue=10),
        _track("r4", "h1", "Order Completed", T0 + timedelta(days=2), revenue=12),
    ]
    assert client.post("/v1/batch", json={"batch": batch[:1]}).json()["accepted"] == 1
    assert client.post("/v1/batch", json={"batch": batch}).json()["accepted"] == 3
    assert _outcomes(deps.db, "converted") == [
        (cid, "h1", None, 10.0),
        (cid, "h1", None, 12.0),
        (cid, "t1", mid, 25.0),
        (cid, "t1", mid, 40.0),
    ]
    client.post("/v1/batch", json={"batch": batch})  # a retried batch still adds nothing
    assert len(_outcomes(deps.db, "converted")) == 4

    m = measure(deps.db, cid)  # people convert once; revenue is the sum of their orders
    assert (m.conversions_treated, m.conversions_holdout) == (1, 1)
    assert m.revenue_lift is not None
    assert m.revenue_lift.treated_value == pytest.approx(65.0)
    assert m.revenue_lift.holdout_value == pytest.approx(22.0)
    [step] = m.steps
    assert (step.converted, step.revenue) == (1, 65.0)


def test_click_redirects_only_on_a_valid_token_to_an_allowed_domain(
    client: TestClient, deps: Deps
) -> None:
    cid = _campaign(deps.db, [("t1", "treated")], [("t1", T0)])
    mid = f"msg_{cid}_0"
    base = deps.settings.public_base_url.rstrip("/")
    good = click_url(deps.settings, mid, "https://shop.northwind.example/p/1?utm=x")
    r = client.get(good.removeprefix(base), follow_redirects=False)
    assert (
        r.status_code == 302 and r.headers["location"] == "https://shop.northwind.example/p/1?utm=x"
    )
    client.get(good.removeprefix(base), follow_redirects=False)  # a second click counts once
    assert _outcomes(deps.db, "clicked") == [(cid, "t1", mid, 0.0)]

    path = good.removeprefix(base)
    body, sig = path.removeprefix("/c/").split(".")
    forged = click_url(deps.settings, mid, "https://evil.example/")
    for bad in (f"/c/{body}x.{sig}", f"/c/{forged.rsplit('/', 1)[1].split('.')[0]}.{sig}"):
        r = client.get(bad, follow_redirects=False)
        assert r.status_code == 400 and "location" not in r.headers
    r = client.get(forged.removeprefix(base), follow_redirects=False)  # signed, foreign domain
    assert r.status_code == 400 and "not one of the brand's domains" in r.text
    assert len(_outcomes(deps.db, "clicked")) == 1

    pixel = client.get(open_pixel_url(deps.settings, mid).removeprefix(base))
    assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert client.get("/o/garbage.gif").status_code == 200
    assert _outcomes(deps.db, "opened") == [(cid, "t1", mid, 0.0)]


def test_sms_links_are_short_tracked_on_brand_domains_without_an_extra_segment(
    client: TestClient, deps: Deps
) -> None:
    body = (
        "Northwind: 10% off with COMEBACK10 at https://shop.northwind.example/sale?c=1. "
        "Partner: https://other.example/x. STOP to opt out"
    )
    cid = _campaign(deps.db, [("t1", "treated")], [("t1", T0)], channel="sms", body=body)
    mid = f"msg_{cid}_0"
    domains = deps.kit.allowed_link_domains
    sent = track_sms_links(deps.settings, mid, body, domains)
    assert "https://other.example/x." in sent  # off the brand's domains: left alone
    assert "shop.northwind.example" not in sent
    [short] = re.findall(r"http://\S+/c/\S+?(?=\. )", sent)
    assert len(short) < 80 and segments(sent)[0] == segments(body)[0] == 1
    base = deps.settings.public_base_url.rstrip("/")
    r = client.get(short.removeprefix(base), follow_redirects=False)
    assert (
        r.status_code == 302 and r.headers["location"] == "https://shop.northwind.example/sale?c=1"
    )
    assert _outcomes(deps.db, "clicked") == [(cid, "t1", mid, 0.0)]
    for bad in (short[:-2] + "AA", short.replace(f"{mid}.0.", f"{mid}.1."), f"{base}/c/x.0.y"):
        r = client.get(bad.removeprefix(base), follow_redirects=False)
        assert r.status_code == 400 and "location" not in r.headers, bad

    # a text that tracking would push into a second segment keeps its link as it is
    long_body = "x" * 120 + " https://northwind.example/a"
    assert track_sms_links(deps.settings, mid, long_body, domains) == long_body
    # e-mail tracking leaves links the redirect would refuse alone too
    mail = track_links(deps.settings, mid, "a https://other.example/y b", domains)
    assert mail == "a https://other.example/y b"


def test_sources_add_prints_a_working_write_key(settings: Settings, deps: Deps) -> None:
    out = run_cli(settings, "sources", "add", "checkout", "--json")
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)["write_key"]
    with TestClient(create_app(deps=deps)) as c:
        c.auth = (key, "")
        assert c.post("/v1/track", json=_track("k1", "c1", "Product Viewed", T0)).status_code == 200
    again = run_cli(settings, "sources", "add", "checkout")
    assert again.returncode == 2 and "exists already" in again.stderr


def test_ingestion_on_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    db.migrate()
    try:
        cid = _campaign(db, [("t1", "treated")], [("t1", T0)])
        raw = [
            _track("o1", "t1", "Order Completed", T0 + timedelta(hours=5), revenue=40),
            {
                "type": "identify",
                "messageId": "i1",
                "userId": "t1",
                "anonymousId": "d1",
                "timestamp": T0.isoformat(),
            },
        ]
        events, errors = parse_events(raw, received_at=T0)
        assert not errors
        first = ingest_events(db, events, TrackingPolicy())
        again = ingest_events(db, events, TrackingPolicy())
        assert (len(first.events), first.conversions, first.stitched) == (2, 1, [("d1", "t1")])
        assert (len(again.events), again.duplicates, again.conversions) == (0, 2, 0)
        assert _outcomes(db, "converted") == [(cid, "t1", f"msg_{cid}_0", 40.0)]
    finally:
        db.dispose()


def test_import_events_goes_through_the_same_ingestion(deps: Deps, tmp_path: Path) -> None:
    cid = _campaign(deps.db, [("t1", "treated"), ("h1", "holdout")], [("t1", T0)])
    path = tmp_path / "events.csv"
    path.write_text(
        "type,messageId,userId,anonymousId,event,timestamp,properties\n"
        f"track,e1,,dev5,Order Completed,{T0 + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ},"
        '"{""total"": 18}"\n'
        f"identify,e2,h1,dev5,,{T0 + timedelta(hours=3):%Y-%m-%dT%H:%M:%SZ},\n"
        f"track,e3,t1,,Order Completed,{T0 + timedelta(hours=4):%Y-%m-%dT%H:%M:%SZ},"
        '"{""revenue"": 30}"\n'
    )
    report = import_file(deps.db, "events", path, tracking=deps.kit.tracking)
    assert (report.inserted, report.duplicates) == (3, 0)
    assert _outcomes(deps.db, "converted") == [
        (cid, "h1", None, 18.0),
        (cid, "t1", f"msg_{cid}_0", 30.0),
    ]
    assert import_file(deps.db, "events", path).duplicates == 3
