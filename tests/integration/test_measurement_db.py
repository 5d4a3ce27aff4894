"""Measurement on a real database: per-arm results count people and keep steps apart, and the
outbox's selection-probability column is added to databases created before it existed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, inspect, text

from agents.optimizer import measure
from core.db import (
    BASELINE_REVISION,
    AssignmentRow,
    CampaignRow,
    Database,
    MessageRow,
    OutcomeRow,
    VariantRow,
    alembic_config,
)
from tests.integration.conftest import NOW


def _campaign(db: Database) -> None:
    with db.session() as s:
        s.add(CampaignRow(id="c", brand_id="b", brief="x", thread_id="t"))
        s.flush()
        s.add_all(
            VariantRow(
                id=f"{step}{arm}",
                campaign_id="c",
                step_id=step,
                arm=arm,
                channel=channel,
                body="x",
                angle=angle,
                weight=0.5,
            )
            for step, channel, arm, angle in (
                ("s1", "email", "A", "value"),
                ("s1", "email", "B", "urgency"),
                ("s2", "sms", "A", "new_arrivals"),
                ("s2", "sms", "B", "social_proof"),
            )
        )
        people = [f"p{i}" for i in range(6)]
        s.add_all(AssignmentRow(campaign_id="c", customer_id=p, group="treated") for p in people)
        s.add(AssignmentRow(campaign_id="c", customer_id="h1", group="holdout"))
        s.flush()
        rows = []
        for i, p in enumerate(people):
            arm = "A" if i < 4 else "B"
            for k, (step, channel) in enumerate((("s1", "email"), ("s2", "sms"))):
                if step == "s2" and i == 3:
                    continue  # converted after step 1: the follow-up was never sent
                rows.append(
                    {
                        "id": f"m_{step}_{p}",
                        "idempotency_key": f"c:{step}:{p}",
                        "campaign_id": "c",
                        "step_id": step,
                        "customer_id": p,
                        "variant_id": f"{step}{arm}",
                        "arm": arm,
                        "propensity": 0.5,
                        "channel": channel,
                        "to_address": "x",
                        "body": "x",
                        "scheduled_at": NOW,
                        "sent_at": NOW + timedelta(days=k),
                        "status": "sent",
                    }
                )
        s.execute(insert(MessageRow), rows)
        outcomes = [
            # p0 opens both messages and clicks twice: one person, not two, per step
            ("p0", "m_s1_p0", "opened", 0.0),
            ("p0", "m_s2_p0", "opened", 0.0),
            ("p0", "m_s1_p0", "clicked", 0.0),
            ("p0", "m_s2_p0", "clicked", 0.0),
            ("p0", "m_s2_p0", "converted", 80.0),
            ("p3", "m_s1_p3", "converted", 40.0),
            ("p4", None, "converted", 25.0),  # organic: counts for the arm, not a step
        ]
        s.execute(
            insert(OutcomeRow),
            [
                {
                    "campaign_id": "c",
                    "customer_id": c,
                    "message_id": m,
                    "kind": k,
                    "value": v,
                    "at": NOW + timedelta(days=3),
                }
                for c, m, k, v in outcomes
            ],
        )


def test_arms_count_people_and_steps_stay_apart(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    db.migrate()
    _campaign(db)
    m = measure(db, "c")
    assert m.messages_sent == 11
    arms = {a.arm: a for a in m.arms}
    assert (arms["A"].people, arms["A"].conversions, arms["A"].revenue) == (4, 2, 120.0)
    assert (arms["B"].people, arms["B"].conversions, arms["B"].revenue) == (2, 1, 25.0)
    assert arms["A"].angle == "value (s1 email), new_arrivals (s2 sms)"
    steps = {(st.step_id, st.arm): st for st in m.steps}
    assert {k: (v.channel, v.angle) for k, v in steps.items()} == {
        ("s1", "A"): ("email", "value"),
        ("s1", "B"): ("email", "urgency"),
        ("s2", "A"): ("sms", "new_arrivals"),
        ("s2", "B"): ("sms", "social_proof"),
    }
    s1a, s2a = steps["s1", "A"], steps["s2", "A"]
    assert (s1a.people, s1a.opened, s1a.clicked, s1a.converted, s1a.revenue) == (4, 1, 1, 1, 40.0)
    assert (s2a.people, s2a.opened, s2a.clicked, s2a.converted, s2a.revenue) == (3, 1, 1, 1, 80.0)
    db.dispose()


def _drop_and_restore_propensity(url: str) -> None:
    db = Database(url)
    with db.engine.begin() as conn:  # the schema of the last release before Alembic …
        command.upgrade(alembic_config(conn), BASELINE_REVISION)
    with db.engine.begin() as conn:  # … made by an older one: no propensity, no stamp
        conn.execute(text("ALTER TABLE messages DROP COLUMN propensity"))
        conn.execute(text("DROP TABLE alembic_version"))
    with db.engine.connect() as conn:
        assert "propensity" not in {c["name"] for c in inspect(conn).get_columns("messages")}
    db.migrate()  # a database from before the column: adopting it adds the column
    db.migrate()  # and is idempotent
    with db.engine.connect() as conn:
        assert "propensity" in {c["name"] for c in inspect(conn).get_columns("messages")}
    _campaign(db)
    assert measure(db, "c").messages_sent == 11
    db.dispose()


def test_propensity_column_is_added_to_an_old_sqlite_database(tmp_path: Path) -> None:
    _drop_and_restore_propensity(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.integration
def test_propensity_column_is_added_to_an_old_postgres_database(pg_url: str) -> None:
    _drop_and_restore_propensity(pg_url)
