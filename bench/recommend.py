"""Recommendation quality: hit-rate@5 on held-out purchases against best-sellers.

Usage: `python bench/recommend.py [--customers N] [--products N] [--seed S] [--k K]`.

Generates the sample world (tools/sandbox/sample_world.py), loads it into a temporary SQLite
database and reads every person's purchases back through `core.catalog.purchase_history` (the
query the content agent uses). For every person with at least two purchases the last one is
held out; both models are fitted on everything else. A hit is the held-out product among the
`k` products a model proposes for that person. Both models leave out what the person already
owns, so a held-out *repeat* purchase cannot be hit by either: those people are counted and
reported, and left out of the hit-rate.

Prints both hit-rates, their ratio, and a bootstrap 95 % interval of the ratio. The sample world
was written beside this code (category affinity and price sensitivity per person), so the
figure is optimistic for real stores; no per-product purchase data set is available in
../shared/data (Hillstrom has no products).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from core.catalog import purchase_history  # noqa: E402
from core.db import Database  # noqa: E402
from tools.recommend import Recommender  # noqa: E402
from tools.sandbox.sample_world import generate_world, load_world  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--products", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args(argv)

    now = datetime(2026, 1, 15, tzinfo=UTC)
    world = generate_world(
        seed=args.seed, customers=args.customers, products=args.products, now=now
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/recommend.db")
        db.migrate()
        load_world(db, world)
        history = purchase_history(db)
        db.engine.dispose()

    train: dict[str, list[str]] = {}
    held: dict[str, str] = {}
    for person, items in history.items():
        if len(items) >= 2:
            train[person], held[person] = items[:-1], items[-1]
        else:
            train[person] = items
    model = Recommender(world.products, train)
    repeats = 0
    hits_rec: list[int] = []
    hits_best: list[int] = []
    for person, target in held.items():
        owned = set(train[person])
        if target in owned:
            repeats += 1
            continue
        hits_rec.append(int(target in model.recommend(owned, args.k)))
        hits_best.append(int(target in model.bestsellers(args.k, exclude=owned)))

    n = len(hits_rec)
    if n == 0:
        print("no person with two or more purchases: nothing to measure", file=sys.stderr)
        return 1
    rec, best = sum(hits_rec) / n, sum(hits_best) / n
    r = random.Random(0)
    ratios: list[float] = []
    for _ in range(1000):
        idx = [r.randrange(n) for _ in range(n)]
        b = sum(hits_best[i] for i in idx)
        if b:
            ratios.append(sum(hits_rec[i] for i in idx) / b)
    ratios.sort()
    lo, hi = ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]
    print(
        f"sample world seed {args.seed}: {args.customers} customers, {args.products} products, "
        f"{sum(len(v) for v in history.values())} purchases"
    )
    print(
        f"held out: last purchase of {len(held)} people with >= 2 purchases; "
        f"{repeats} were repeat purchases (not counted), {n} evaluated"
    )
    print(f"hit-rate@{args.k} co-purchase recommender: {rec:.3f}")
    print(f"hit-rate@{args.k} best-sellers (owned left out): {best:.3f}")
    ratio = rec / best if best else float("inf")
    print(f"ratio: {ratio:.2f}x (bootstrap 95% interval {lo:.2f}-{hi:.2f}; goal >= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
