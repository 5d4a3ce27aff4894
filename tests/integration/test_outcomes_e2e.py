"""The production path end to end, over real HTTP: `autocmo serve` in a child process, a brief
and its approval through the API, the worker sending to a real SMTP server on 127.0.0.1, clicks
through the tracking links found in the delivered e-mails, `Order Completed` events through
`/v1/batch`, the follow-up skipping who bought and going out as SMS (to a Twilio-compatible
server) with short tracked links, and `autocmo report` showing clicks and conversions for treated
and holdout members."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from api.demo import seed_world
from core.db import AssignmentRow, Database, MessageRow, utcnow
from core.settings import Settings
from graphs.runtime import build_deps
from tests.integration.conftest import WINBACK_BRIEF, add_team, bearer, run_cli
from tests.support.servers import ApiServer, SMTPSink, TwilioServer
from tools.delivery.dispatch import dispatch_due

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_CLICK = re.compile(r"(http://127\.0\.0\.1:\d+/c/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")
_SMS_CLICK = re.compile(r"(http://127\.0\.0\.1:\d+/c/msg_\w+\.\d+\.[A-Za-z0-9_\-]+)")
SID, TOKEN = "AC" + "0" * 31 + "7", "e2e-twilio-token"


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    """A Twilio-compatible SMS API for one test."""
    server = TwilioServer(SID, TOKEN).start()
    yield server
    server.stop()


def _work(settings: Settings, start: datetime, end: datetime) -> None:
    """What `autocmo worker` does each cycle, every 2 simulated hours from `start` to `end`."""
    deps = build_deps(settings, with_rules=False)
    try:
        at = start
        while at < end:
            at = min(at + timedelta(hours=2), end)
            dispatch_due(deps.db, deps.settings, deps.dispatch_policy(), as_of=at)
    finally:
        deps.db.dispose()


def _text(msg: object) -> str:
    part = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return str(part.get_content())


def test_clicks_and_purchases_flow_back_and_the_follow_up_skips_buyers(
    settings: Settings, smtp_sink: SMTPSink, twilio: TwilioServer
) -> None:
    t0 = utcnow()
    db = Database(settings.db_url)
    db.migrate()
    seed_world(db, customers=600, seed=5, now=t0)
    out = run_cli(settings, "sources", "add", "web", "--json")
    assert out.returncode == 0, out.stderr
    write_key = json.loads(out.stdout)["write_key"]

    add_team(db)
    marketer, approver = bearer(db, "mia"), bearer(db, "qa")
    secret = "e2e-secret-not-the-default"
    settings = settings.model_copy(update={"secret_key": secret})
    server = ApiServer(
        {
            "AUTOCMO_DATA_DIR": str(settings.data_dir),
            "HF_HUB_OFFLINE": "1",
            "AUTOCMO_SECRET_KEY": secret,
        },
        ready_timeout=240,  # it loads the embedding model; the shared machine can be slow
    )
    server.start()
    try:
        worker_settings = settings.model_copy(
            update={
                "public_base_url": server.url,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_sink.port,
                "sms_base_url": twilio.base_url,
                "sms_account_sid": SID,
                "sms_auth_token": TOKEN,
                "sms_from": "+15005550006",
            }
        )
        with httpx.Client(base_url=server.url, timeout=60) as api:
            r = api.post("/api/v1/briefs", json={"text": WINBACK_BRIEF}, headers=marketer)
            assert r.status_code == 201, r.text
            cid, aid = r.json()["campaign_id"], r.json()["approval_id"]
            r = api.post(f"/api/v1/approvals/{aid}/approve", json={}, headers=approver)
            assert r.status_code == 200 and r.json()["campaign_status"] == "active", r.text

            # step 1 (e-mail) goes out through the worker to the SMTP server
            t1 = t0 + timedelta(hours=30)
            _work(worker_settings, t0, t1)
            with db.session() as s:
                msgs = s.scalars(select(MessageRow).where(MessageRow.campaign_id == cid)).all()
                groups = dict(
                    s.execute(
                        select(AssignmentRow.customer_id, AssignmentRow.group).where(
                            AssignmentRow.campaign_id == cid
                        )
                    ).all()
                )
            sent1 = {m.id: m for m in msgs if m.step_id == "s1" and m.status == "sent"}
            # people the SMS follow-up could reach (a phone number on file)
            followed = {m.customer_id for m in msgs if m.step_id == "s2" and m.to_address}
            assert len(sent1) >= 10 and len(smtp_sink.messages) == len(sent1)

            # people click the tracking links in the e-mails they received
            by_id = {str(m["Message-ID"]).strip("<>").split("@")[0]: m for m in smtp_sink.messages}
            clickers = [mid for mid in sorted(sent1) if sent1[mid].customer_id in followed][:4]
            for mid in clickers:
                links = _CLICK.findall(_text(by_id[mid]))
                assert links, "the delivered e-mail has no tracking link"
                hop = api.get(links[0].removeprefix(server.url), follow_redirects=False)
                assert hop.status_code == 302
                assert re.match(
                    r"https://([a-z0-9-]+\.)*northwind\.example", hop.headers["location"]
                )
            tampered = _CLICK.findall(_text(by_id[clickers[0]]))[0].removeprefix(server.url)
            bad = api.get(tampered[:-4] + "AAAA", follow_redirects=False)
            assert bad.status_code == 400 and "location" not in bad.headers

            # three treated people (two of them clickers) and two holdout members buy
            buyers = [sent1[clickers[0]].customer_id, sent1[clickers[1]].customer_id]
            buyers += [sent1[m].customer_id for m in sorted(sent1) if m not in clickers][:1]
            holdout_buyers = sorted(c for c, g in groups.items() if g == "holdout")[:2]
            assert len(holdout_buyers) == 2
            order_at = (t1 + timedelta(hours=1)).isoformat()
            batch = [
                {
                    "type": "track",
                    "messageId": f"order-{person}",
                    "userId": person,
                    "event": "Order Completed",
                    "properties": {"order_id": f"o-{person}", "revenue": 50.0, "currency": "USD"},
                    "timestamp": order_at,
                }
                for person in buyers + holdout_buyers
            ]
            r = api.post("/v1/batch", json={"batch": batch}, auth=(write_key, ""))
            assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
            again = api.post("/v1/batch", json={"batch": batch}, auth=(write_key, ""))
            assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 5

        # step 2 (the SMS reminder, `not_converted`) skips the buyers
        _work(worker_settings, t1, t0 + timedelta(hours=72 + 60))
        with db.session() as s:
            step2 = {
                m.customer_id: m
                for m in s.scalars(
                    select(MessageRow).where(
                        MessageRow.campaign_id == cid, MessageRow.step_id == "s2"
                    )
                )
            }
        for person in buyers[:2]:
            assert (step2[person].status, step2[person].skip_reason) == (
                "skipped",
                "condition_not_met",
            )
        others = [m for p, m in step2.items() if p not in buyers]
        assert any(m.status == "sent" for m in others)
        assert all(m.skip_reason != "condition_not_met" for m in others)

        # the SMS reminders carry short tracked links; one is followed
        texts = [m["Body"] for m in twilio.messages]
        assert len(texts) == sum(m.status == "sent" for m in others)
        short = [link for text in texts for link in _SMS_CLICK.findall(text)]
        assert short, texts[:3]
        assert all(len(link) < len(server.url) + 50 for link in short)
        with httpx.Client(base_url=server.url, timeout=60) as api:
            hop = api.get(short[0].removeprefix(server.url), follow_redirects=False)
        assert hop.status_code == 302, hop.text
        assert re.match(r"https://([a-z0-9-]+\.)*northwind\.example", hop.headers["location"])
    finally:
        server.stop()
        db.dispose()

    report = run_cli(settings, "report", cid)
    assert report.returncode == 0, report.stderr
    m = json.loads(report.stdout)["measurement"]
    assert (m["conversions_treated"], m["conversions_holdout"]) == (3, 2)
    assert sum(s["clicked"] for s in m["steps"] if s["step_id"] == "s1") == len(clickers)
    assert sum(s["clicked"] for s in m["steps"] if s["step_id"] == "s2") == 1
    assert sum(a["conversions"] for a in m["arms"]) == 3  # attributed to the e-mail they got
    assert json.loads(report.stdout)["skipped"].get("condition_not_met", 0) >= 2
    # the offline engine spends no tokens, costs nothing and never falls back
    spend = json.loads(report.stdout)["llm_spend"]
    assert spend["cost_usd"] == 0 and spend["fallbacks"] == [] and spend["prompt_tokens"] == 0
    assert set(spend["by_task"]) >= {"parse_brief", "draft_plan", "write_variants"}
