"""Inbound webhooks through the FastAPI app: SMS STOP/START keywords (Twilio-signed) and
bounce/complaint events (HMAC-signed), and the dispatcher honouring them at send time."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from core.db import ConsentRow, CustomerRow, DecisionRow, MessageRow, OutcomeRow, SuppressionRow
from core.models import Channel
from core.settings import Settings
from graphs.runtime import Deps, build_deps
from tests.support.outbox import add_scheduled_message
from tools.delivery.channels.base import ChannelAdapter
from tools.delivery.channels.file_sink import FileSinkAdapter
from tools.delivery.channels.sms import twilio_signature
from tools.delivery.channels.webhook import sign
from tools.delivery.dispatch import Dispatcher, DispatchPolicy

pytestmark = pytest.mark.integration

TOKEN = "twilio-auth-token"
PUBLIC = "https://hooks.shop.example"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
POLICY = DispatchPolicy(
    from_name="Shop",
    from_email="hello@shop.example",
    default_timezone="Europe/Berlin",
    quiet_start=21,
    quiet_end=8,
)


def _deps(settings: Settings, **update: object) -> Deps:
    tuned = settings.model_copy(update={"public_base_url": PUBLIC, **update})
    deps = build_deps(tuned, with_rules=False)
    with deps.db.session() as s:
        for cid, phone, email in (
            ("cus_ana", "+14155550100", "Ana@Example.com"),
            ("cus_ben", "+14155550101", "ben@example.com"),
            ("cus_ana_2", "+14155550100", "ana.work@example.com"),  # same phone, two profiles
        ):
            s.add(CustomerRow(id=cid, phone=phone, email=email, traits={}))
        s.flush()
        for cid in ("cus_ana", "cus_ben", "cus_ana_2"):
            for ch in ("sms", "email"):
                s.add(ConsentRow(customer_id=cid, channel=ch, granted=True, source="form", at=T0))
    return deps


@pytest.fixture
def signed(settings: Settings) -> Iterator[tuple[TestClient, Deps]]:
    """The app with an SMS auth token configured."""
    deps = _deps(settings, sms_auth_token=TOKEN)
    with TestClient(create_app(deps=deps)) as client:
        yield client, deps


def _sms(
    client: TestClient, body: str, sender: str = "+14155550100", *, token: str | None = TOKEN
) -> tuple[int, str]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,  # Twilio's id of each inbound message
        "AccountSid": "AC" + "2" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
    }
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if token is not None:
        url = f"{PUBLIC}/webhooks/sms/inbound"
        headers["X-Twilio-Signature"] = twilio_signature(token, url, form.items())
    r = client.post("/webhooks/sms/inbound", content=urllib.parse.urlencode(form), headers=headers)
    return r.status_code, r.text


def _consent(deps: Deps, cid: str, channel: str = "sms") -> tuple[bool, str]:
    with deps.db.session() as s:
        row = s.get(ConsentRow, (cid, channel))
        assert row is not None
        return row.granted, row.source


def test_stop_opts_out_everyone_with_the_number_and_start_opts_back_in(
    signed: tuple[TestClient, Deps],
) -> None:
    client, deps = signed
    status, text = _sms(client, "  stop. ")
    assert status == 200 and text.startswith("<?xml") and "<Response>" in text
    assert _consent(deps, "cus_ana") == (False, "unsubscribe_sms_keyword:stop")
    assert _consent(deps, "cus_ana_2")[0] is False
    assert _consent(deps, "cus_ben")[0] is True  # another number
    assert _consent(deps, "cus_ana", "email")[0] is True  # SMS only
    with deps.db.session() as s:
        audited = s.scalars(
            select(DecisionRow).where(DecisionRow.action == "consent_withdrawn")
        ).all()
    assert sorted(d.evidence["customer_id"] for d in audited) == ["cus_ana", "cus_ana_2"]

    for body in ("HELP", "stop please", "Yes please", ""):
        assert _sms(client, body)[0] == 200
    # a reader of the German, French, Portuguese or Japanese SMS may answer in that language
    for word, source in (
        ("Stopp", "stopp"),
        ("arrêt", "arrêt"),
        ("Parar", "parar"),
        ("停止。", "停止"),
    ):
        assert _sms(client, "START")[0] == 200 and _consent(deps, "cus_ana")[0] is True
        assert _sms(client, word)[0] == 200
        assert _consent(deps, "cus_ana") == (False, f"unsubscribe_sms_keyword:{source}")
    assert _consent(deps, "cus_ana")[0] is False  # none of those changed anything

    assert _sms(client, "UNSTOP")[0] == 200
    assert _consent(deps, "cus_ana") == (True, "sms_keyword_start:unstop")
    for word in ("STOPALL", "unsubscribe", "Cancel", "END", "quit"):
        _sms(client, "START")
        _sms(client, word)
        assert _consent(deps, "cus_ana")[0] is False, word


def test_sms_signature_is_required_when_a_token_is_configured(
    signed: tuple[TestClient, Deps],
) -> None:
    client, deps = signed
    assert _sms(client, "STOP", token=None)[0] == 403
    status, text = _sms(client, "STOP", token="not-the-token")
    assert status == 403 and "AUTOCMO_SMS_AUTH_TOKEN" in text
    assert _consent(deps, "cus_ana")[0] is True


def test_without_a_token_opt_outs_work_and_opt_ins_are_refused(settings: Settings) -> None:
    deps = _deps(settings)
    with TestClient(create_app(deps=deps)) as client:
        assert _sms(client, "STOP", token=None)[0] == 200
        assert _consent(deps, "cus_ana")[0] is False
        status, text = _sms(client, "START", token=None)
        assert status == 403 and "AUTOCMO_SMS_AUTH_TOKEN" in text
        assert _consent(deps, "cus_ana")[0] is False


def _events(
    client: TestClient, settings: Settings, events: list[dict[str, object]], *, age_s: int = 0
) -> tuple[int, dict[str, object]]:
    body = json.dumps({"events": events})
    ts = str(int(time.time()) - age_s)
    r = client.post(
        "/webhooks/delivery-events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Autocmo-Timestamp": ts,
            "X-Autocmo-Signature": sign(settings.secret_key, ts, body),
        },
    )
    return r.status_code, r.json()


def _outbox(deps: Deps, mid: str, cid: str, channel: str, to: str) -> None:
    add_scheduled_message(deps.db, mid, cid, channel, to, due=T0)


def test_bounces_and_complaints_suppress_and_the_dispatcher_honours_them(
    settings: Settings,
) -> None:
    deps = _deps(settings)
    _outbox(deps, "m_old", "cus_ben", "email", "ben@example.com")
    with deps.db.session() as s:
        old = s.get(MessageRow, "m_old")
        assert old is not None
        old.status, old.provider_message_id = "sent", "<m_old@shop.example>"
    with TestClient(create_app(deps=deps)) as client:
        status, result = _events(
            client,
            deps.settings,
            [
                {"type": "bounce", "address": "ANA@example.com", "detail": "550 5.1.1 unknown"},
                {"type": "bounce", "bounce_type": "soft", "address": "ana.work@example.com"},
                {
                    "type": "complaint",
                    "address": "ben@example.com",
                    "message_id": "<m_old@shop.example>",
                },
            ],
        )
        assert status == 200, result
        assert result == {
            "suppressed": 2,
            "consent_withdrawn": 1,
            "outcomes_recorded": 1,
            "ignored": 1,
            "replayed": False,
        }
        assert (
            _events(client, deps.settings, [{"type": "bounce", "address": "x@y.z"}], age_s=900)[0]
            == 401
        )
        bad = client.post(
            "/webhooks/delivery-events",
            content=b'{"events": []}',
            headers={"X-Autocmo-Timestamp": "1", "X-Autocmo-Signature": "sha256=00"},
        )
        assert bad.status_code == 401 and "AUTOCMO_SECRET_KEY" in bad.json()["detail"]
        assert _events(client, deps.settings, [{"type": "opened", "address": "a@b.c"}])[0] == 422

    with deps.db.session() as s:
        sup = {(r.address, r.reason) for r in s.scalars(select(SuppressionRow))}
        outcome = s.scalars(select(OutcomeRow)).one()
    assert sup == {("ana@example.com", "hard_bounce"), ("ben@example.com", "complaint")}
    assert (outcome.message_id, outcome.kind) == ("m_old", "unsubscribed")
    assert _consent(deps, "cus_ben", "email") == (False, "complaint")

    _outbox(deps, "m_ana", "cus_ana", "email", "Ana@Example.com")
    _outbox(deps, "m_ben", "cus_ben", "email", "ben@example.com")
    _outbox(deps, "m_ana2", "cus_ana_2", "email", "ana.work@example.com")
    _outbox(deps, "m_sms", "cus_ana", "sms", "+14155550100")
    adapters: dict[Channel, ChannelAdapter] = {
        ch: FileSinkAdapter(deps.settings.sent_dir, channel=ch)
        for ch in (Channel.EMAIL, Channel.SMS)
    }
    stats = Dispatcher(deps.db, adapters, POLICY, deps.settings).run_once(as_of=T0)
    assert stats.skipped == {"suppressed_bounce": 1, "suppressed_complaint": 1}
    assert stats.sent == 2  # the soft-bounced address and the SMS still go out
    with deps.db.session() as s:
        reasons = {m.id: m.skip_reason for m in s.scalars(select(MessageRow))}
        trail = s.scalars(select(DecisionRow).where(DecisionRow.agent == "dispatcher")).all()
    assert reasons["m_ana"] == "suppressed_bounce" and reasons["m_ben"] == "suppressed_complaint"
    # The run is audited once per campaign, with its counts, not once per message.
    assert len(trail) == 1
    assert trail[0].evidence["counts"] == {
        "sent": 2,
        "skipped:suppressed_bounce": 1,
        "skipped:suppressed_complaint": 1,
    }
    assert "1 skipped suppressed_bounce" in trail[0].reason


def test_sms_stop_wins_over_a_scheduled_message(signed: tuple[TestClient, Deps]) -> None:
    client, deps = signed
    _outbox(deps, "m_sms", "cus_ana", "sms", "+14155550100")
    assert _sms(client, "STOP")[0] == 200
    adapters: dict[Channel, ChannelAdapter] = {
        Channel.SMS: FileSinkAdapter(deps.settings.sent_dir, channel=Channel.SMS)
    }
    stats = Dispatcher(deps.db, adapters, POLICY, deps.settings).run_once(as_of=T0)
    assert stats.skipped == {"unsubscribed": 1} and stats.sent == 0
