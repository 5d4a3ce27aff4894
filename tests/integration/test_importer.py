"""Importing real CSV and JSONL files into a real SQLite database: all or nothing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.customers import consent_granted, get_customers, set_consent
from core.db import CustomerRow, Database, DecisionRow, EventRow, ProductRow
from tools.importer import ImportRejected, import_file

pytestmark = pytest.mark.integration

CUSTOMERS_CSV = (
    "id,email,first_name,country,timezone,created_at,"
    "email_consent,email_consent_source,sms_consent,trait.loyalty_tier,traits\n"
    "c1,ann@example.com,Ann,US,America/Chicago,2025-01-02T10:00:00Z,"
    'yes,signup_form,no,gold,"{""vip"": true}"\n'
    'c2,bo@example.org,"Bo, Jr.",DE,Europe/Berlin,2025-02-03T08:00:00+01:00,false,,,,\n'
    "c3,cy@example.net,Cy,FR,,2025-03-01T00:00:00Z,,,,,\n"
)


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _event(i: int, **kw: object) -> dict[str, object]:
    e: dict[str, object] = {
        "type": "track",
        "messageId": f"m{i}",
        "userId": "c1",
        "event": "Order Completed",
        "properties": {"product_id": "p1", "category": "home", "revenue": 12.5},
        "timestamp": f"2025-05-0{1 + i % 9}T10:00:00Z",
    }
    e.update(kw)
    return e


def test_good_customer_csv(db: Database, tmp_path: Path) -> None:
    report = import_file(db, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    assert (report.rows, report.inserted, report.updated, report.duplicates) == (3, 3, 0, 0)
    people = get_customers(db, ["c1", "c2", "c3"])
    c1, c2, c3 = people["c1"], people["c2"], people["c3"]
    assert c1.traits == {"loyalty_tier": "gold", "vip": True}
    assert c1.created_at == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert {(k.channel.value, k.granted, k.source) for k in c1.consent} == {
        ("email", True, "signup_form"),
        ("sms", False, "import"),
    }
    assert c2.first_name == "Bo, Jr."
    assert c2.created_at == datetime(2025, 2, 3, 7, tzinfo=UTC)  # stored in UTC
    assert not consent_granted(db, "c2", "email")
    assert c3.consent == [] and c3.timezone is None
    assert not consent_granted(db, "c3", "email")  # no record: no consent


def test_customers_are_upserted_and_older_consent_never_wins(db: Database, tmp_path: Path) -> None:
    import_file(db, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    update = (
        "id,first_name,email_consent,email_consent_at,sms_consent,sms_consent_at\n"
        "c1,Annie,no,2024-01-01T00:00:00Z,yes,2025-04-01T00:00:00Z\n"
        "c4,Dee,yes,2025-04-01T00:00:00Z,,\n"
    )
    report = import_file(db, "customers", _write(tmp_path, "u.csv", update))
    assert (report.inserted, report.updated) == (1, 1)
    with db.session() as s:
        c1 = get_customers(db, ["c1"])["c1"]
        assert c1.first_name == "Annie" and c1.email == "ann@example.com"  # untouched fields stay
        assert consent_granted(db, "c1", "email")  # the 2024 opt-out is older than the opt-in
        assert consent_granted(db, "c1", "sms")  # newer: applied and audited
        audited = s.scalars(select(DecisionRow).where(DecisionRow.agent == "consent")).all()
        assert [(d.action, d.evidence["channel"]) for d in audited] == [("consent_granted", "sms")]


def test_good_jsonl_events_and_duplicates_skipped(db: Database, tmp_path: Path) -> None:
    lines = [json.dumps(_event(i)) for i in range(5)] + ["", json.dumps(_event(2))]
    report = import_file(db, "events", _write(tmp_path, "e.jsonl", "\n".join(lines) + "\n"))
    assert (report.rows, report.inserted, report.duplicates) == (6, 5, 1)
    again = [json.dumps(_event(i)) for i in range(3, 8)]
    report = import_file(db, "events", _write(tmp_path, "e2.ndjson", "\n".join(again)))
    assert (report.rows, report.inserted, report.duplicates) == (5, 3, 2)
    assert _count(db, EventRow) == 8
    with db.session() as s:
        row = s.get(EventRow, "m0")
        assert row is not None and row.properties["revenue"] == 12.5
        assert row.timestamp.tzinfo is not None


def test_events_csv_with_json_properties(db: Database, tmp_path: Path) -> None:
    csv_text = (
        "type,messageId,userId,event,timestamp,properties\n"
        'track,a1,c1,Product Viewed,2025-05-01T10:00:00Z,"{""product_id"": ""p1""}"\n'
        "identify,a2,c1,,2025-05-01T09:00:00+02:00,\n"
    )
    report = import_file(db, "events", _write(tmp_path, "e.csv", csv_text))
    assert (report.rows, report.inserted) == (2, 2)
    with db.session() as s:
        a1 = s.get(EventRow, "a1")
        a2 = s.get(EventRow, "a2")
        assert a1 is not None and a1.properties == {"product_id": "p1"}
        assert a2 is not None and a2.timestamp == datetime(2025, 5, 1, 7, tzinfo=UTC)


def test_bad_row_in_the_middle_writes_nothing_and_names_the_line(
    db: Database, tmp_path: Path
) -> None:
    lines = [json.dumps(_event(i)) for i in range(6)]
    lines[2] = json.dumps(_event(2, timestamp="yesterday"))
    lines[4] = json.dumps(_event(4, timestamp="2025-05-01T10:00:00"))  # no timezone
    with pytest.raises(ImportRejected) as info:
        import_file(db, "events", _write(tmp_path, "e.jsonl", "\n".join(lines)))
    assert [e.line for e in info.value.errors] == [3, 5]
    message = str(info.value)
    assert "nothing was written" in message and "line 3" in message and "timestamp" in message
    assert "no timezone" in message
    assert _count(db, EventRow) == 0


def test_bad_csv_rows_are_reported_by_file_line(db: Database, tmp_path: Path) -> None:
    # The quoted name spans two physical lines, so the bad row below starts on line 4.
    text = (
        "id,email,first_name,email_consent\n"
        'c1,a@example.com,"Multi\nline",yes\n'
        "c2,b@example.com,Bo,perhaps\n"
        "c1,c@example.com,Dup,no\n"
    )
    with pytest.raises(ImportRejected) as info:
        import_file(db, "customers", _write(tmp_path, "c.csv", text))
    errors = {e.line: e.message for e in info.value.errors}
    assert set(errors) == {4, 5}
    assert "perhaps" in errors[4]
    assert "line 2" in errors[5]  # the duplicate id points at its first occurrence
    assert _count(db, CustomerRow) == 0


def test_unknown_csv_column_is_rejected_on_the_header(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "id,name,category,price,url,colour\np1,A,home,3,u,red\n")
    with pytest.raises(ImportRejected, match=r"line 1: unknown column\(s\) 'colour'"):
        import_file(db, "products", path)


def test_products_csv_and_upsert(db: Database, tmp_path: Path) -> None:
    text = (
        "id,name,category,price,url,margin\np1,Mug,home,12.5,https://northwind.example/p/p1,0.5\n"
    )
    assert import_file(db, "products", _write(tmp_path, "p.csv", text)).inserted == 1
    text = "id,name,category,price,url\np1,Mug,home,10,https://northwind.example/p/p1\n"
    report = import_file(db, "products", _write(tmp_path, "p2.csv", text))
    assert (report.inserted, report.updated) == (0, 1)
    with db.session() as s:
        row = s.get(ProductRow, "p1")
        assert row is not None and (row.price, row.margin) == (10.0, 0.5)
    bad = "id,name,category,price,url\np2,Bad,home,-1,https://northwind.example/p/p2\n"
    with pytest.raises(ImportRejected, match="line 2: price"):
        import_file(db, "products", _write(tmp_path, "p3.csv", bad))


def test_unknown_kind_or_extension_is_a_clear_error(db: Database, tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "id\n")
    with pytest.raises(ValueError, match="unknown import kind 'orders'"):
        import_file(db, "orders", path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unknown file type '\.xlsx'"):
        import_file(db, "customers", _write(tmp_path, "x.xlsx", ""))
    with pytest.raises(FileNotFoundError):
        import_file(db, "customers", tmp_path / "missing.csv")


def test_set_consent_upserts_and_audits(db: Database, tmp_path: Path) -> None:
    import_file(db, "customers", _write(tmp_path, "c.csv", CUSTOMERS_CSV))
    at = datetime(2025, 6, 1, tzinfo=UTC)
    set_consent(db, "c1", "email", False, "unsubscribe_link", at)
    set_consent(db, "c3", "sms", True, "sms_keyword", at)
    with db.session() as s:
        assert not consent_granted(db, "c1", "email")
        assert consent_granted(db, "c3", "sms")
        actions = [
            (d.action, d.evidence["customer_id"])
            for d in s.scalars(select(DecisionRow).where(DecisionRow.agent == "consent"))
        ]
        assert actions == [("consent_withdrawn", "c1"), ("consent_granted", "c3")]
    with pytest.raises(ValueError, match="no customer"):
        set_consent(db, "nobody", "email", True, "form", at)


BAD_CONTACTS_CSV = (
    "id,email,phone,timezone,first_name\n"
    "ok,ok@example.com,+44 7700 900123,Europe/London,Ok\n"
    "c2,not-an-email,,,\n"
    'c3,"eve@example.com\r\nBcc: all@example.com",,,\n'
    "c4,,call me maybe,,\n"
    "c5,,,Mars/Olympus,\n"
    "c6,nul@example.com,,,Nu\x00l\n"
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_contacts_are_validated_with_line_numbers_and_nothing_is_written(
    backend: str, db: Database, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = db if backend == "sqlite" else Database(request.getfixturevalue("pg_url"))
    target.migrate()
    with pytest.raises(ImportRejected) as info:
        import_file(target, "customers", _write(tmp_path, "c.csv", BAD_CONTACTS_CSV))
    errors = {e.line: e.message for e in info.value.errors}
    assert set(errors) == {3, 4, 6, 7, 8}  # the CRLF-injected cell spans lines 4-5
    assert "not-an-email" in errors[3] and "not a valid address" in errors[3]
    assert "not a valid address" in errors[4]
    assert "call me maybe" in errors[6] and "E.164" in errors[6]
    assert "Mars/Olympus" in errors[7] and "IANA" in errors[7]
    assert "first_name" in errors[8] and "NUL byte" in errors[8]
    assert _count(target, CustomerRow) == 0
    if target is not db:
        target.dispose()


def test_a_products_launch_date_is_imported_and_a_bad_one_named(
    db: Database, tmp_path: Path
) -> None:
    text = (
        "id,name,category,price,url,launched\n"
        "p1,Mug,home,12,https://northwind.example/p/p1,2026-10-01\n"
        "p2,Lamp,home,40,https://northwind.example/p/p2,\n"
    )
    assert import_file(db, "products", _write(tmp_path, "p.csv", text)).inserted == 2
    with db.session() as s:
        assert s.get(ProductRow, "p1").launched == date(2026, 10, 1)  # type: ignore[union-attr]
        assert s.get(ProductRow, "p2").launched is None  # type: ignore[union-attr]
    bad = "id,name,category,price,url,launched\np3,Cup,home,5,https://northwind.example/p/p3,soon\n"
    with pytest.raises(ImportRejected, match="line 2: launched"):
        import_file(db, "products", _write(tmp_path, "p3.csv", bad))
