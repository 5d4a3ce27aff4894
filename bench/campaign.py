"""Benchmark: plan → render → check → schedule for a large audience on the offline engine.

    python bench/campaign.py --customers 100000

Prints the time of each stage and, for the same rows, the floor: a Jinja2 render of the same
template plus a bulk insert of the same rows, with nothing else (no features, no consent, no
guardrails, no scheduling). The last line is `recipients_per_s=… floor_per_s=… ratio=…`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from api.demo import seed_world
from core.db import Database, MessageRow, utcnow
from core.settings import Settings, set_process_environment
from graphs.operations import decide, submit_brief
from graphs.runtime import build_deps

BRIEF = "Promotion: 10% off everything this weekend with code WEEKEND10, by email."
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _floor(db: Database, campaign_id: str) -> tuple[int, float]:
    """Render the same template for the same rows with plain Jinja2 and bulk-insert them."""
    from jinja2 import Environment

    with db.session() as s:
        rows = s.execute(
            select(
                MessageRow.customer_id,
                MessageRow.step_id,
                MessageRow.to_address,
                MessageRow.scheduled_at,
            ).where(MessageRow.campaign_id == campaign_id)
        ).all()
        template_src = (
            s.scalar(select(MessageRow.body).where(MessageRow.campaign_id == campaign_id).limit(1))
            or ""
        )
    tmpl = Environment(autoescape=False).from_string(
        "Hi {{ first_name }}, " + template_src[:400] + " {{ product_name }} {{ url }}"
    )
    t = time.perf_counter()
    out = []
    for i, (cid, step, addr, at) in enumerate(rows):
        body = tmpl.render(
            first_name="Alex", product_name="Trailhead Pack", url="https://northwind.example/p/1"
        )
        out.append(
            {
                "id": f"floor_{i}",
                "idempotency_key": f"floor:{i}",
                "campaign_id": "floor",
                "step_id": step,
                "customer_id": cid,
                "variant_id": "v",
                "arm": "A",
                "channel": "email",
                "to_address": addr,
                "subject": None,
                "body": body,
                "scheduled_at": at,
                "status": "scheduled",
                "attempts": 0,
                "created_at": utcnow(),
                "condition": "always",
                "product_id": None,
                "skip_reason": None,
            }
        )
        if len(out) >= 2000:
            with db.session() as s:
                s.execute(insert(MessageRow), out)
            out.clear()
    if out:
        with db.session() as s:
            s.execute(insert(MessageRow), out)
    return len(rows), time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    set_process_environment()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            _env_file=None,  # type: ignore[call-arg]
            openai_api_key=None,
        )
        settings.ensure_dirs()
        db = Database(settings.db_url)
        db.migrate()
        t = time.perf_counter()
        seed_world(db, customers=args.customers, seed=args.seed, now=NOW)
        print(f"seed_world: {time.perf_counter() - t:.1f}s (not part of the figure)")
        deps = build_deps(settings)
        deps.clock = lambda: NOW

        t0 = time.perf_counter()
        res = submit_brief(deps, BRIEF, now=NOW)
        t1 = time.perf_counter()
        assert res.approval_id, res
        decide(deps, res.approval_id, approved=True, decided_by="bench")
        t2 = time.perf_counter()
        with deps.db.session() as s:
            scheduled = int(
                s.scalar(
                    select(func.count()).where(
                        MessageRow.campaign_id == res.campaign_id, MessageRow.status == "scheduled"
                    )
                )
                or 0
            )
            written = int(
                s.scalar(select(func.count()).where(MessageRow.campaign_id == res.campaign_id)) or 0
            )
        print(
            f"audience={res.audience_size} holdout={res.holdout_size} outbox_rows={written} "
            f"scheduled={scheduled}"
        )
        print(f"plan+content+guardrails: {t1 - t0:.1f}s; render+check+schedule: {t2 - t1:.1f}s")
        n_floor, floor_s = _floor(deps.db, res.campaign_id)
        rate = written / (t2 - t0)
        floor_rate = n_floor / floor_s if floor_s else float("nan")
        print(f"floor (Jinja2 render + bulk insert of {n_floor} rows): {floor_s:.1f}s")
        print(
            f"recipients_per_s={rate:.0f} floor_per_s={floor_rate:.0f} "
            f"ratio={floor_rate / rate:.1f}"
        )
        deps.db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
