"""Calibration of every interval the product reports, and of its stopping rule.

Usage: `python bench/calibration.py [--campaigns 200] [--sizes 1000,10000] [--looks 20]`.

The response simulator is run as potential outcomes: every person of a population of
`--population` sample-world people is simulated both treated (one e-mail) and held out, in the
same campaign, so each person's effect is known and the true average effect is the population
mean of (treated − held out). Each simulated campaign then draws `size` people from that
population (with replacement, seeded), holds out 10 % by an independent draw, observes one of
the two outcomes per person and reports lifts exactly as the product does
(`tools.statistics`). Coverage is the share of campaigns whose interval contains the true
effect; the goal is 93–97 % for each interval.

A/A runs measure the stopping rule: two arms with the same message (so no difference), looked
at `--looks` times as people accrue; a run is a false positive when the rule would declare a
winner at any look. The optimizer's rule (always-valid interval excludes 0, after the minimum
evidence) should stay under 5 %; the fixed-horizon interval looked at as often is shown for
contrast.

Figures from the simulator are optimistic about how well-behaved real outcomes are (it is a
model written beside the code); the Hillstrom test in `bench/hillstrom.py` is real data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from agents.optimizer import has_minimum_evidence  # noqa: E402
from core.models import Channel, OutcomeKind  # noqa: E402
from tools.sandbox.sample_world import generate_world  # noqa: E402
from tools.sandbox.simulator import ResponseSimulator, SimMessage  # noqa: E402
from tools.statistics import LiftEstimate, mean_lift, proportion_lift  # noqa: E402

SEED = 7
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
HOLDOUT = 0.10


@dataclass
class Population:
    """Potential outcomes of every person: converted and revenue under each treatment."""

    converted: dict[str, np.ndarray]
    """Treatment (`holdout`, `A`, `B`) -> 1 if the person converts under it."""
    revenue: dict[str, np.ndarray]
    """Treatment -> the person's revenue under it."""

    def effect(self, kind: str, treated: str, control: str) -> float:
        """The true average effect of `treated` against `control` on `kind`."""
        values = self.converted if kind == "conversion" else self.revenue
        return float((values[treated] - values[control]).mean())


ARMS = {"A": "value", "B": "urgency"}
"""The two arms' creative angles (one e-mail each)."""


def simulate_treatments(
    size: int, angles: Mapping[str, str | None], campaign: str
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Treatment -> (converted, revenue) of `size` sample-world people under it.

    `angles` maps a treatment name to the angle of the one e-mail it sends (None: held out,
    nothing sent). Same campaign, so a person's organic behaviour is shared across treatments.
    """
    products = {p.id: p for p in generate_world(seed=SEED, customers=0, now=NOW).products}
    sim = ResponseSimulator(seed=SEED, products=products)
    ids = [f"cus_{i:06d}" for i in range(1, size + 1)]
    index = {cid: i for i, cid in enumerate(ids)}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for treatment, angle in angles.items():
        sent = [
            SimMessage(
                message_id=f"m_{cid}",
                customer_id=cid,
                channel=Channel.EMAIL,
                angle=angle,
                offer_percent=10.0,
                product_id=None,
                category=None,
                local_hour=10,
                sent_at=NOW + timedelta(hours=1),
            )
            for cid in ids
            if angle is not None
        ]
        group = "holdout" if angle is None else "treated"
        conv, rev = np.zeros(size), np.zeros(size)
        for o in sim.simulate(campaign, assigned=[(c, group) for c in ids], sent=sent, as_of=NOW):
            if o.kind == OutcomeKind.CONVERTED:
                conv[index[o.customer_id]] = 1.0
                rev[index[o.customer_id]] += o.value
        out[treatment] = (conv, rev)
    return out


def potential_outcomes(size: int) -> Population:
    """`size` sample-world people held out, sent arm A's and sent arm B's e-mail."""
    out = simulate_treatments(size, {"holdout": None, **ARMS}, "cmp_calibration")
    return Population(
        converted={t: conv for t, (conv, _) in out.items()},
        revenue={t: rev for t, (_, rev) in out.items()},
    )


def _lift(
    pop: Population,
    kind: str,
    treated: str,
    control: str,
    t: np.ndarray,
    c: np.ndarray,
    planned: int,
) -> LiftEstimate:
    if kind == "conversion":
        yt, yc = pop.converted[treated][t], pop.converted[control][c]
        return proportion_lift(int(yt.sum()), t.size, int(yc.sum()), c.size, planned_n=planned)
    return mean_lift(pop.revenue[treated][t], pop.revenue[control][c], planned_n=planned)


COMPARISONS = (
    ("conversion lift vs holdout", "conversion", "A", "holdout"),
    ("revenue/person lift vs holdout", "revenue", "A", "holdout"),
    ("conversion, arm B vs arm A", "conversion", "B", "A"),
)
"""What the product reports: treated-vs-holdout lifts, and arm-vs-arm differences."""


def coverage(pop: Population, size: int, campaigns: int, looks: int, seed: int) -> dict[str, float]:
    """Coverage over seeded campaigns of `size` people, each looked at `looks` times.

    The fixed-horizon interval is judged at the last look only (what it promises); the
    always-valid one must contain the truth at every look (what it promises).
    """
    rng = np.random.default_rng(seed)
    hits: dict[str, int] = {}
    for _ in range(campaigns):
        people = rng.integers(0, pop.converted["holdout"].size, size)
        held = rng.random(size) < HOLDOUT
        arm_b = rng.random(size) < 0.5
        for name, kind, treated, control in COMPARISONS:
            truth = pop.effect(kind, treated, control)
            uniform = True
            for k in range(1, looks + 1):
                upto = np.arange(size) < size * k // looks
                if control == "holdout":
                    t, c = people[upto & ~held], people[upto & held]
                else:
                    t, c = people[upto & ~held & arm_b], people[upto & ~held & ~arm_b]
                if min(t.size, c.size) < 2:
                    continue
                est = _lift(pop, kind, treated, control, t, c, planned=size)
                uniform &= est.sequential_low <= truth <= est.sequential_high
            fixed = est.ci_low <= truth <= est.ci_high
            for label, ok in (
                ("fixed-horizon, last look", fixed),
                ("always-valid, all looks", uniform),
            ):
                key = f"{name}, {label}"
                hits[key] = hits.get(key, 0) + int(ok)
    return {key: n / campaigns for key, n in hits.items()}


def aa_false_positives(
    pop: Population, size: int, runs: int, looks: int, seed: int
) -> dict[str, float]:
    """Share of A/A runs (both arms send arm A's e-mail) that any look would call a winner."""
    rng = np.random.default_rng(seed)
    y = pop.converted["A"]
    stops = {"optimizer's rule (always-valid)": 0, "fixed-horizon at every look": 0}
    for _ in range(runs):
        people = rng.integers(0, y.size, size)
        arm_b = rng.random(size) < 0.5
        fired = dict.fromkeys(stops, False)
        for k in range(1, looks + 1):
            upto = size * k // looks
            a, b = people[:upto][~arm_b[:upto]], people[:upto][arm_b[:upto]]
            xa, xb = int(y[a].sum()), int(y[b].sum())
            if not has_minimum_evidence([(xa, a.size), (xb, b.size)]):
                continue
            est = proportion_lift(xa, a.size, xb, b.size, planned_n=size)
            fired["optimizer's rule (always-valid)"] |= (
                est.sequential_low > 0 or est.sequential_high < 0
            )
            fired["fixed-horizon at every look"] |= est.ci_low > 0 or est.ci_high < 0
        for name, hit in fired.items():
            stops[name] += int(hit)
    return {name: n / runs for name, n in stops.items()}


def main() -> None:
    """Print coverage per interval and size, and the A/A false-positive rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=300, help="campaigns per size")
    parser.add_argument("--sizes", default="1000,10000", help="people per campaign")
    parser.add_argument("--looks", type=int, default=20, help="looks per campaign")
    parser.add_argument("--population", type=int, default=40_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pop = potential_outcomes(args.population)
    print(
        f"population {args.population:,}: conversion held out "
        f"{pop.converted['holdout'].mean():.3%}, arm A {pop.converted['A'].mean():.3%}, "
        f"arm B {pop.converted['B'].mean():.3%}; true effects: "
        + ", ".join(f"{name} {pop.effect(kind, t, c):+.4f}" for name, kind, t, c in COMPARISONS)
    )
    print(
        f"\ncoverage of 95 % intervals, {args.campaigns} seeded campaigns per size, "
        f"{args.looks} looks each (goal 93-97 %)"
    )
    for size in sizes:
        for name, rate in coverage(pop, size, args.campaigns, args.looks, seed=size).items():
            print(f"  n={size:>6,}  {name:<62} {rate:6.1%}")
    print(
        f"\nA/A false-positive rate, {args.campaigns} runs per size, {args.looks} looks "
        "(goal <= 5 %)"
    )
    for size in sizes:
        for name, rate in aa_false_positives(
            pop, size, args.campaigns, args.looks, seed=size + 1
        ).items():
            print(f"  n={size:>6,}  {name:<62} {rate:6.1%}")


if __name__ == "__main__":
    main()
