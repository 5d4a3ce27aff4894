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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from agents.optimizer import has_minimum_evidence  # noqa: E402
from core.models import Channel, OutcomeKind  # noqa: E402
from tools.sample_world import generate_world  # noqa: E402
from tools.simulator import ResponseSimulator, SimMessage  # noqa: E402
from tools.statistics import LiftEstimate, mean_lift, proportion_lift  # noqa: E402

SEED = 7
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
HOLDOUT = 0.10


@dataclass
class Population:
    """Potential outcomes of every person: converted and revenue, treated and held out."""

    converted_treated: np.ndarray
    """1 if the person converts when sent the message."""
    converted_holdout: np.ndarray
    """1 if the person converts when held out."""
    revenue_treated: np.ndarray
    """Revenue when sent the message."""
    revenue_holdout: np.ndarray
    """Revenue when held out."""


def potential_outcomes(size: int, campaign: str = "cmp_calibration") -> Population:
    """Simulate `size` sample-world people both treated (one e-mail) and held out."""
    products = {p.id: p for p in generate_world(seed=SEED, customers=0, now=NOW).products}
    sim = ResponseSimulator(seed=SEED, products=products)
    ids = [f"cus_{i:06d}" for i in range(1, size + 1)]
    sent = [
        SimMessage(
            message_id=f"m_{cid}",
            customer_id=cid,
            channel=Channel.EMAIL,
            angle="value",
            offer_percent=10.0,
            product_id=None,
            category=None,
            local_hour=10,
            sent_at=NOW + timedelta(hours=1),
        )
        for cid in ids
    ]
    index = {cid: i for i, cid in enumerate(ids)}

    def outcomes(group: str, messages: list[SimMessage]) -> tuple[np.ndarray, np.ndarray]:
        conv, rev = np.zeros(size), np.zeros(size)
        out = sim.simulate(campaign, assigned=[(c, group) for c in ids], sent=messages, as_of=NOW)
        for o in out:
            if o.kind == OutcomeKind.CONVERTED:
                conv[index[o.customer_id]] = 1.0
                rev[index[o.customer_id]] += o.value
        return conv, rev

    ct, rt = outcomes("treated", sent)
    ch, rh = outcomes("holdout", [])
    return Population(ct, ch, rt, rh)


@dataclass
class Tally:
    """How often each interval contained the truth."""

    hits: dict[str, int]
    """Interval name -> campaigns whose interval contained the true effect."""
    runs: int = 0
    """Campaigns counted."""

    def add(self, name: str, covered: bool) -> None:
        """Count one interval of one campaign."""
        self.hits[name] = self.hits.get(name, 0) + int(covered)


def _covers(est: LiftEstimate, truth: float) -> dict[str, bool]:
    return {
        "fixed-horizon": est.ci_low <= truth <= est.ci_high,
        "always-valid": est.sequential_low <= truth <= est.sequential_high,
    }


def coverage(pop: Population, size: int, campaigns: int, seed: int) -> Tally:
    """Coverage of the conversion and revenue intervals over seeded campaigns of `size`."""
    rng = np.random.default_rng(seed)
    true_conv = float((pop.converted_treated - pop.converted_holdout).mean())
    true_rev = float((pop.revenue_treated - pop.revenue_holdout).mean())
    tally = Tally(hits={})
    for _ in range(campaigns):
        people = rng.integers(0, pop.converted_treated.size, size)
        held = rng.random(size) < HOLDOUT
        if held.all() or not held.any():
            continue
        t, h = people[~held], people[held]
        conv = proportion_lift(
            int(pop.converted_treated[t].sum()), t.size, int(pop.converted_holdout[h].sum()), h.size
        )
        rev = mean_lift(pop.revenue_treated[t], pop.revenue_holdout[h])
        for name, ok in _covers(conv, true_conv).items():
            tally.add(f"conversion lift, {name}", ok)
        for name, ok in _covers(rev, true_rev).items():
            tally.add(f"revenue/person lift, {name}", ok)
        tally.runs += 1
    return tally


def aa_false_positives(
    pop: Population, size: int, runs: int, looks: int, seed: int
) -> dict[str, float]:
    """Share of A/A runs (two arms, same message) that any look would call a winner."""
    rng = np.random.default_rng(seed)
    stops = {"always-valid (the optimizer's rule)": 0, "fixed-horizon, every look": 0}
    for _ in range(runs):
        people = rng.integers(0, pop.converted_treated.size, size)
        arm_b = rng.random(size) < 0.5
        fired = dict.fromkeys(stops, False)
        for k in range(1, looks + 1):
            upto = size * k // looks
            a, b = people[:upto][~arm_b[:upto]], people[:upto][arm_b[:upto]]
            xa, xb = int(pop.converted_treated[a].sum()), int(pop.converted_treated[b].sum())
            if not has_minimum_evidence([(xa, a.size), (xb, b.size)]):
                continue
            est = proportion_lift(xa, a.size, xb, b.size, planned_n=size)
            if est.sequential_low > 0 or est.sequential_high < 0:
                fired["always-valid (the optimizer's rule)"] = True
            if est.ci_low > 0 or est.ci_high < 0:
                fired["fixed-horizon, every look"] = True
        for name, hit in fired.items():
            stops[name] += int(hit)
    return {name: n / runs for name, n in stops.items()}


def main() -> None:
    """Print coverage per interval and size, and the A/A false-positive rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=400)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--looks", type=int, default=20)
    parser.add_argument("--population", type=int, default=40_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pop = potential_outcomes(args.population)
    print(
        f"population {args.population:,}: conversion treated "
        f"{pop.converted_treated.mean():.3%} vs held out {pop.converted_holdout.mean():.3%}, "
        f"true lift {(pop.converted_treated - pop.converted_holdout).mean() * 100:+.3f} pp; "
        f"true revenue lift {(pop.revenue_treated - pop.revenue_holdout).mean():+.3f} per person"
    )
    print(f"\ncoverage of 95 % intervals over {args.campaigns} seeded campaigns (goal 93-97 %)")
    for size in sizes:
        tally = coverage(pop, size, args.campaigns, seed=size)
        for name, hits in tally.hits.items():
            print(f"  n={size:>6,}  {name:<38} {hits / tally.runs:6.1%}  ({tally.runs} runs)")
    print(f"\nA/A false-positive rate over {args.campaigns} runs, {args.looks} looks (goal <= 5 %)")
    for size in sizes:
        for name, rate in aa_false_positives(
            pop, size, args.campaigns, args.looks, seed=size + 1
        ).items():
            print(f"  n={size:>6,}  {name:<38} {rate:6.1%}")


if __name__ == "__main__":
    main()
