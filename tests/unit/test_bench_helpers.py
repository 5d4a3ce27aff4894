"""Benchmarks fail loudly: a helper process that cannot start, or dies mid-run, ends the run
with its error."""

from __future__ import annotations

from typing import Any

import pytest

from bench.dispatch import ChildFailed, _gather, start_child


def _broken_sink(conn: Any) -> None:
    import aiosmtpd_is_not_installed  # type: ignore[import-not-found]  # noqa: F401


def _silent_exit(conn: Any) -> None:
    raise SystemExit(3)


def _ready(conn: Any, port: int) -> None:
    conn.send(port)
    conn.recv()


def test_a_sink_that_fails_to_start_ends_the_benchmark_with_its_traceback() -> None:
    with pytest.raises(ChildFailed) as info:
        start_child(_broken_sink, timeout=30)
    assert info.value.code != 0
    assert "aiosmtpd_is_not_installed" in str(info.value) and "_broken_sink" in str(info.value)


def test_a_sink_that_dies_or_says_nothing_is_reported() -> None:
    with pytest.raises(ChildFailed, match="_silent_exit"):
        start_child(_silent_exit, timeout=30)


def test_a_ready_sink_hands_back_its_first_message() -> None:
    proc, conn, message = start_child(_ready, 1234, timeout=30)
    assert message == 1234
    conn.send("stop")
    proc.join(10)
    assert proc.exitcode == 0


def _dies_when_asked(conn: Any) -> None:
    import os

    conn.send("ready")
    conn.recv()
    os._exit(9)  # as a kill -9 would: no reply, no traceback


def _quiet_worker(conn: Any) -> None:
    conn.send("ready")
    conn.recv()  # never answers the run it was given
    conn.recv()


def test_a_dispatcher_that_dies_mid_run_ends_the_benchmark() -> None:
    proc, conn, _ = start_child(_dies_when_asked, timeout=30)
    sink, sink_conn, _ = start_child(_ready, 1, timeout=30)
    conn.send("run")
    with pytest.raises(ChildFailed, match="dispatcher 0 died"):
        _gather([(proc, conn)], sink)
    sink_conn.send("stop")
    sink.join(10)


def test_a_sink_that_dies_mid_run_ends_the_benchmark() -> None:
    proc, conn, _ = start_child(_quiet_worker, timeout=30)
    sink, sink_conn, _ = start_child(_dies_when_asked, timeout=30)
    conn.send("run")
    sink_conn.send("die")
    with pytest.raises(ChildFailed, match="sink process died"):
        _gather([(proc, conn)], sink)
    proc.kill()
    proc.join(10)


def test_the_lean_smtp_sink_takes_pipelined_and_plain_clients_and_hands_over_every_message() -> (
    None
):
    import smtplib

    from bench.lean_smtp import LeanSMTPSink
    from core.models import Channel
    from tools.delivery.channels.base import OutboundMessage
    from tools.delivery.channels.smtp import SMTPAdapter

    got: list[bytes] = []
    sink = LeanSMTPSink(got.append).start()
    adapter = SMTPAdapter("127.0.0.1", sink.port, timeout=5, max_connections=2)
    try:
        for i in range(3):  # pipelined MAIL/RCPT/DATA, one reused connection
            adapter.send(
                OutboundMessage(
                    id=f"m{i}",
                    idempotency_key=f"k{i}",
                    channel=Channel.EMAIL,
                    to="a@example.com",
                    subject="Hi",
                    body=f"line {i}\n.\nend",
                    from_name="Shop",
                    from_email="shop@example.com",
                    unsubscribe_url="https://shop.example/u/t",
                    campaign_id="c",
                    customer_id="p",
                )
            )
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as plain:
            assert plain.ehlo()[0] == 250 and plain.has_extn("pipelining")
            assert plain.docmd("DATA")[0] == 503  # out of order: no MAIL, no RCPT
            assert plain.docmd("RCPT", "TO:<a@example.com>")[0] == 503
            plain.sendmail("x@example.com", ["a@example.com"], b"Message-ID: <plain@x>\r\n\r\nhi")
            assert plain.docmd("BOGUS")[0] == 500
    finally:
        adapter.close()
        sink.stop()
    assert len(got) == 4
    assert [m.split(b"\r\n", 1)[0] for m in got][-1] == b"Message-ID: <plain@x>"
    assert all(b"Message-ID: <m%d@example.com>" % i in got[i] for i in range(3))
    assert got[0].endswith(b"\r\n") and b"\r\n..\r\n" in got[0]  # whole, still dot-stuffed
