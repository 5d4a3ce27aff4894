"""The file sink writes real files: `.eml` with the same MIME as SMTP, `.json` otherwise."""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from core.models import Channel
from core.settings import Settings
from tools.delivery.channels.base import OutboundMessage, PermanentSendError, TransientSendError
from tools.delivery.channels.file_sink import FileSinkAdapter
from tools.delivery.channels.registry import build_adapters, close_adapters
from tools.delivery.channels.smtp import SMTPAdapter

pytestmark = pytest.mark.integration


def _msg(**kw: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "id": "msg_1",
        "idempotency_key": "cmp_1:s1:cus_1",
        "channel": Channel.EMAIL,
        "to": "ana@example.com",
        "subject": "Hello",
        "body": "Hi Ana,\n\nSee https://shop.example/x",
        "from_name": "Shop",
        "from_email": "hi@shop.example",
        "unsubscribe_url": "https://shop.example/u/t",
        "campaign_id": "cmp_1",
        "customer_id": "cus_1",
    }
    values.update(kw)
    return OutboundMessage(**values)


def test_email_becomes_an_eml_file(tmp_path: Path) -> None:
    sink = FileSinkAdapter(tmp_path / "sent")
    result = sink.send(_msg())
    assert result.provider_message_id == "msg_1.eml"
    raw = (tmp_path / "sent" / "msg_1.eml").read_bytes()
    assert b"\r\n" in raw
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == "<msg_1@shop.example>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["X-Autocmo-Idempotency-Key"] == "cmp_1:s1:cus_1"
    html = msg.get_body(preferencelist=("html",))
    assert html is not None
    assert '<a href="https://shop.example/x">' in str(html.get_content())
    assert sorted(p.name for p in (tmp_path / "sent").iterdir()) == ["msg_1.eml"]


def test_other_channels_become_json(tmp_path: Path) -> None:
    sink = FileSinkAdapter(tmp_path, channel=Channel.SMS)
    result = sink.send(_msg(id="msg_2", channel=Channel.SMS, to="+4915112345678", subject=None))
    assert result.provider_message_id == "msg_2.json"
    data = json.loads((tmp_path / "msg_2.json").read_text(encoding="utf-8"))
    assert data["channel"] == "sms"
    assert data["to"] == "+4915112345678"
    assert data["idempotency_key"] == "cmp_1:s1:cus_1"


def test_resend_overwrites_and_ids_cannot_escape_the_directory(tmp_path: Path) -> None:
    sink = FileSinkAdapter(tmp_path / "sent")
    sink.send(_msg(body="first"))
    sink.send(_msg(body="second"))
    files = list((tmp_path / "sent").iterdir())
    assert [f.name for f in files] == ["msg_1.eml"]
    assert b"second" in files[0].read_bytes()
    result = sink.send(_msg(id="../../etc/evil"))
    assert "/" not in result.provider_message_id
    assert (tmp_path / "sent" / result.provider_message_id).is_file()
    assert not (tmp_path / "etc").exists()


def test_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    # A directory squatting on the target name makes the final rename fail for real.
    (tmp_path / "msg_1.eml").mkdir()
    sink = FileSinkAdapter(tmp_path)
    with pytest.raises(TransientSendError, match="cannot write"):
        sink.send(_msg())
    assert [p.name for p in tmp_path.iterdir()] == ["msg_1.eml"]  # no temp file left behind
    assert (tmp_path / "msg_1.eml").is_dir()


def test_unbuildable_email_is_permanent(tmp_path: Path) -> None:
    with pytest.raises(PermanentSendError, match="not a valid"):
        FileSinkAdapter(tmp_path).send(_msg(to="nobody"))
    assert list(tmp_path.iterdir()) == []


def test_registry_defaults_to_the_file_sink_and_uses_smtp_when_set(settings: Settings) -> None:
    adapters = build_adapters(settings)
    assert set(adapters) == set(Channel)
    assert all(isinstance(a, FileSinkAdapter) for a in adapters.values())
    assert all(a.channel == ch for ch, a in adapters.items())
    adapters[Channel.PUSH].send(_msg(id="msg_p", channel=Channel.PUSH, to="device-token"))
    assert (settings.sent_dir / "msg_p.json").is_file()
    close_adapters(adapters)

    with_smtp = build_adapters(settings.model_copy(update={"smtp_host": "127.0.0.1"}))
    assert isinstance(with_smtp[Channel.EMAIL], SMTPAdapter)
    assert isinstance(with_smtp[Channel.SMS], FileSinkAdapter)
    close_adapters(with_smtp)
