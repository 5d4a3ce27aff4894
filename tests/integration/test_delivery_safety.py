"""Ways a message could still reach someone it should not (issue 12), each reproduced through
the real importer, the FastAPI app, the dispatcher and a real SMTP sink."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from core.audit import list_decisions
from core.customers import set_consent_by_address, suppress
from core.db import CampaignRow, ConsentRow, CustomerRow, MessageRow, SuppressionRow
from core.models import Channel
from core.settings import Settings
from graphs.runtime import Deps, build_deps
from tests.integration.conftest import add_team, bearer
from tests.support.outbox import add_scheduled_message
from tests.support.servers import SMTPSink
from tools.delivery.channels.base import ChannelAdapter
from tools.delivery.channels.file_sink import FileSinkAdapter
from tools.delivery.channels.sms import twilio_signature
from tools.delivery.channels.smtp import SMTPAdapter
from tools.delivery.channels.webhook import sign
from tools.delivery.dispatch import Dispatcher, DispatchPolicy
from tools.delivery.tokens import unsubscribe_url
from tools.importer import import_file

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
PUBLIC = "https://hooks.shop.example"
TOKEN = "twilio-auth-token"
POLICY = DispatchPolicy(
    from_name="Shop",
    from_email="hello@shop.example",
    default_timezone="Europe/Berlin",
    quiet_start=21,
    quiet_end=8,
)


@pytest.fixture
def deps(settings: Settings) -> Iterator[Deps]:
    """Runtime dependencies on an empty database, with a Twilio auth token configured."""
    tuned = settings.model_copy(update={"public_base_url": PUBLIC, "sms_auth_token": TOKEN})
    d = build_deps(tuned, with_rules=False)
    yield d
    d.db.dispose()


def _import_customers(deps: Deps, tmp_path: Path, text: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    import_file(deps.db, "customers", path)


def _sms(client: TestClient, body: str, sender: str, sid: str = "SM" + "1" * 32) -> int:
    form = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body}
    url = f"{PUBLIC}/webhooks/sms/inbound"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TOKEN, url, form.items()),
    }
    r = client.post("/webhooks/sms/inbound", content=urllib.parse.urlencode(form), headers=headers)
    return r.status_code


def _outbox(deps: Deps, mid: str, cid: str, channel: str, to: str, at: datetime = T0) -> None:
    add_scheduled_message(deps.db, mid, cid, channel, to, due=at)


def _file_adapters(deps: Deps) -> dict[Channel, ChannelAdapter]:
    return {
        ch: FileSinkAdapter(deps.settings.sent_dir, channel=ch)
        for ch in (Channel.EMAIL, Channel.SMS)
    }


def _consent(deps: Deps, cid: str, channel: str) -> bool:
    with deps.db.session() as s:
        row = s.get(ConsentRow, (cid, channel))
        assert row is not None
        return row.granted


# --- 1. phones in E.164 ---------------------------------------------------------------------


def test_sms_stop_and_suppression_match_a_phone_imported_with_spaces_and_dashes(
    deps: Deps, tmp_path: Path
) -> None:
    _import_customers(
        deps,
        tmp_path,
        "id,phone,country,sms_consent,sms_consent_at\n"
        "cus_x,+1 555 000-1014,,true,2026-03-01T00:00:00Z\n"
        "cus_y,(415) 555-0199,,true,2026-03-01T00:00:00Z\n"
        "cus_z,030 1234567,DE,true,2026-03-01T00:00:00Z\n",
    )
    with deps.db.session() as s:
        phones = {r.id: r.phone for r in s.execute(select(CustomerRow.id, CustomerRow.phone))}
    assert phones == {"cus_x": "+15550001014", "cus_y": "+14155550199", "cus_z": "+49301234567"}

    with TestClient(create_app(deps=deps)) as client:
        assert _sms(client, "STOP", "+15550001014") == 200
    assert not _consent(deps, "cus_x", "sms")
    assert _consent(deps, "cus_y", "sms")

    # A bounce reported in another format suppresses the stored number.
    suppress(deps.db, Channel.SMS, "+1 (415) 555-0199", "hard_bounce", "test", T0)
    with deps.db.session() as s:
        assert s.scalars(select(SuppressionRow.address)).all() == ["+14155550199"]
    _outbox(deps, "m_x", "cus_x", "sms", phones["cus_x"])
    _outbox(deps, "m_y", "cus_y", "sms", phones["cus_y"])
    _outbox(deps, "m_z", "cus_z", "sms", phones["cus_z"])
    stats = Dispatcher(deps.db, _file_adapters(deps), POLICY, deps.settings).run_once(as_of=T0)
    assert stats.skipped == {"unsubscribed": 1, "suppressed_bounce": 1}
    assert stats.sent == 1


# --- 2. an opt-out belongs to the address ---------------------------------------------------


def test_unsubscribing_one_record_stops_mail_to_everyone_with_that_address(
    deps: Deps, tmp_path: Path
) -> None:
    _import_customers(
        deps,
        tmp_path,
        "id,email,email_consent,email_consent_at\n"
        "dup_a,pat@example.com,true,2026-03-01T00:00:00Z\n"
        "dup_b,Pat@Example.com,true,2026-03-01T00:00:00Z\n"
        "other,sam@example.com,true,2026-03-01T00:00:00Z\n",
    )
    link = unsubscribe_url(
        deps.settings, customer_id="dup_a", channel=Channel.EMAIL, campaign_id="cmp_1"
    )
    with TestClient(create_app(deps=deps)) as client:
        assert client.post(urllib.parse.urlparse(link).path).status_code == 200
    _outbox(deps, "m_b", "dup_b", "email", "Pat@Example.com")
    _outbox(deps, "m_other", "other", "email", "sam@example.com")
    stats = Dispatcher(deps.db, _file_adapters(deps), POLICY, deps.settings).run_once(as_of=T0)
    assert stats.skipped == {"unsubscribed": 1} and stats.sent == 1
    with deps.db.session() as s:
        assert s.get(MessageRow, "m_b").skip_reason == "unsubscribed"  # type: ignore[union-attr]


# --- 3. an opt-out arriving during a batch --------------------------------------------------


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A recording SMTP server for one test."""
    sink = SMTPSink().start()
    yield sink
    sink.stop()


def test_a_complaint_recorded_mid_batch_stops_the_persons_later_sends(
    deps: Deps, tmp_path: Path, smtp_sink: SMTPSink
) -> None:
    rows = ["id,email,email_consent,email_consent_at"]
    rows += [f"p{i},p{i}@example.com,true,2026-03-01T00:00:00Z" for i in range(6)]
    rows += ["target,target@example.com,true,2026-03-01T00:00:00Z"]
    _import_customers(deps, tmp_path, "\n".join(rows) + "\n")
    order = ["p0", "p1", "p2", "target", "p3", "p4", "target", "p5"]
    for i, cid in enumerate(order):
        _outbox(deps, f"m{i}", cid, "email", f"{cid}@example.com", at=T0 + timedelta(seconds=i))
        with deps.db.session() as s:  # one campaign per message to the target
            msg = s.get(MessageRow, f"m{i}")
            assert msg is not None
            msg.campaign_id = f"cmp_{i}"

    def complain_after_the_first_send() -> None:
        while not smtp_sink.messages:
            time.sleep(0.005)
        suppress(deps.db, Channel.EMAIL, "target@example.com", "complaint", "test", T0)
        set_consent_by_address(deps.db, Channel.EMAIL, "target@example.com", False, "complaint", T0)

    tuned = deps.settings.model_copy(
        update={"channel_rate_limits": {"email": 4.0}, "dispatch_recheck_interval_s": 0.0}
    )
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    complainer = threading.Thread(target=complain_after_the_first_send)
    complainer.start()
    try:
        stats = Dispatcher(deps.db, {Channel.EMAIL: adapter}, POLICY, tuned).run_once(
            as_of=T0 + timedelta(seconds=10)
        )
    finally:
        adapter.close()
        complainer.join(timeout=10)
    assert stats.sent == 6 and stats.skipped == {"suppressed_complaint": 2}
    received = {to for _, tos in smtp_sink.envelopes for to in tos}
    assert "target@example.com" not in received and len(smtp_sink.messages) == 6
    with deps.db.session() as s:
        late = {m.id: (m.status, m.skip_reason, m.sent_at) for m in s.scalars(select(MessageRow))}
    assert late["m3"] == ("skipped", "suppressed_complaint", None)
    assert late["m6"] == ("skipped", "suppressed_complaint", None)


# --- 7. signed webhooks cannot be replayed --------------------------------------------------


def test_a_replayed_start_after_a_later_stop_does_not_resubscribe(
    deps: Deps, tmp_path: Path
) -> None:
    _import_customers(
        deps,
        tmp_path,
        "id,phone,email,email_consent,email_consent_at,sms_consent,sms_consent_at\n"
        "ana,+14155550100,ana@example.com,true,2026-03-01T00:00:00Z,false,2026-03-01T00:00:00Z\n",
    )
    start_sid = "SM" + "a" * 32
    with TestClient(create_app(deps=deps)) as client:
        assert _sms(client, "START", "+14155550100", sid=start_sid) == 200
        assert _consent(deps, "ana", "sms")
        assert _sms(client, "STOP", "+14155550100", sid="SM" + "b" * 32) == 200
        assert not _consent(deps, "ana", "sms")
        assert _sms(client, "START", "+14155550100", sid=start_sid) == 200  # the replay
        assert not _consent(deps, "ana", "sms")

        # A signed delivery-event batch is applied once; the same request again changes nothing.
        body = json.dumps({"events": [{"type": "complaint", "address": "ana@example.com"}]})
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Autocmo-Timestamp": ts,
            "X-Autocmo-Signature": sign(deps.settings.secret_key, ts, body),
        }
        first = client.post("/webhooks/delivery-events", content=body, headers=headers)
        again = client.post("/webhooks/delivery-events", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["suppressed"] == 1 and not first.json()["replayed"]
    assert again.json() == {
        "suppressed": 0,
        "consent_withdrawn": 0,
        "outcomes_recorded": 0,
        "ignored": 0,
        "replayed": True,
    }


def test_a_delayed_complaint_does_not_overwrite_a_later_consent(deps: Deps, tmp_path: Path) -> None:
    _import_customers(
        deps,
        tmp_path,
        "id,phone,sms_consent,sms_consent_at\nana,+14155550100,true,2026-03-01T00:00:00Z\n",
    )
    older = datetime(2026, 2, 1, tzinfo=UTC)
    assert (
        set_consent_by_address(
            deps.db, Channel.SMS, "+14155550100", False, "complaint", older, newer_only=True
        )
        == []
    )
    assert _consent(deps, "ana", "sms")


# --- 8. personal data masked in logs and in audit text --------------------------------------


def test_addresses_are_masked_in_worker_logs_and_in_the_audit_trail_over_the_api(
    deps: Deps, tmp_path: Path, smtp_sink: SMTPSink, caplog: pytest.LogCaptureFixture
) -> None:
    _import_customers(
        deps,
        tmp_path,
        "id,email,phone,email_consent,email_consent_at\n"
        "pat,pat.smith@example.com,+14155550123,true,2026-03-01T00:00:00Z\n",
    )
    with deps.db.session() as s:
        s.add(CampaignRow(id="cmp_1", brand_id="sample", brief="b", thread_id="t"))
    _outbox(deps, "m1", "pat", "email", "pat.smith@example.com")
    smtp_sink.reply = "550 5.1.1 <pat.smith@example.com>: no such user (call +1 415 555 0123)"
    adapter = SMTPAdapter("127.0.0.1", smtp_sink.port, timeout=5)
    with caplog.at_level(logging.INFO):
        try:
            stats = Dispatcher(deps.db, {Channel.EMAIL: adapter}, POLICY, deps.settings).run_once(
                as_of=T0
            )
        finally:
            adapter.close()
        assert stats.failed == 1
        with TestClient(create_app(deps=deps)) as client:
            assert _sms(client, "STOP", "+14155550123") == 200
            add_team(deps.db)
            trail = client.get("/api/v1/campaigns/cmp_1/decisions", headers=bearer(deps.db, "vic"))
    assert trail.status_code == 200
    ours = ("tools.", "api.", "core.")  # not the test SMTP server's own log
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    audited = trail.text
    for text in (logged, audited):
        assert "pat.smith@example.com" not in text and "p***@example.com" in text
        assert "555 0123" not in text and "***0123" in text
    assert "+14155550123" not in logged  # the inbound STOP's sender
    # The full record stays available to code that needs it (and in the outbox row).
    full = list_decisions(deps.db, "cmp_1", reveal_personal_data=True)
    assert "pat.smith@example.com" in str(full[0].evidence)
