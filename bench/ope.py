"""Off-policy evaluation: a new allocation policy's value estimated from logged propensities.

Usage: `python bench/ope.py [--logs 200] [--people 5000] [--population 20000]`.

The response simulator gives every person of the population a potential outcome (converted,
revenue) under each arm (one e-mail per angle). A campaign's log is made the way the product
makes it: `--people` people drawn from the population, each given an arm by
`agents.activation.choose_arm` under the logging weights, with the probability it returns
(what the outbox stores in `messages.propensity`), and the outcome of that arm. Each evaluated
policy (arm weights the optimizer might propose) is estimated with IPS and SNIPS
(`tools.statistics.off_policy_value`) and compared with its true value in the simulator: the
population mean of Σ_arm π(arm)·outcome(arm). Over `--logs` seeded logs the benchmark prints
the true value, the median estimate, the mean bias and how often the 95 % interval covered the
truth.

The simulator is a model written beside the code, so these figures show the estimators work on
the product's logs, not how well they do on real people.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from agents.activation import choose_arm  # noqa: E402
from bench.calibration import simulate_treatments  # noqa: E402
from core.models import Channel, VariantTemplate  # noqa: E402
from tools.statistics import off_policy_value  # noqa: E402

ANGLES: dict[str, str | None] = {
    "A": "value",
    "B": "urgency",
    "C": "social_proof",
    "D": "new_arrivals",
}
"""Arm label -> creative angle of its e-mail."""
LOGGING = {"A": 0.4, "B": 0.3, "C": 0.2, "D": 0.1}
"""The weights the log was collected under."""
POLICIES = {
    "uniform": {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25},
    "all on B": {"A": 0.0, "B": 1.0, "C": 0.0, "D": 0.0},
    "all on D (10 % logged)": {"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0},
    "C and D": {"A": 0.0, "B": 0.0, "C": 0.5, "D": 0.5},
}
"""Policies to evaluate: arm weights."""


def potential_outcomes(size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Arm -> (converted, revenue) of every person of the population when sent that arm."""
    return simulate_treatments(size, ANGLES, "cmp_ope")


def _variants(weights: dict[str, float]) -> list[VariantTemplate]:
    return [
        VariantTemplate(
            id=arm, step_id="s1", arm=arm, channel=Channel.EMAIL, body="x", weight=weights[arm]
        )
        for arm in ANGLES
    ]


def log_campaign(
    outcomes: dict[str, tuple[np.ndarray, np.ndarray]], people: int, seed: int
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """One campaign's log: arm, propensity, converted and revenue per person."""
    rng = np.random.default_rng(seed)
    size = next(iter(outcomes.values()))[0].size
    who = rng.integers(0, size, people)
    variants = _variants(LOGGING)
    arms, props = [], np.zeros(people)
    conv, rev = np.zeros(people), np.zeros(people)
    for i, person in enumerate(who):
        # the arm draw is salted per campaign and person, like the product's outbox
        v, p = choose_arm(f"cmp_log_{seed}", f"person_{i}", variants)
        arms.append(v.arm)
        props[i] = p
        conv[i], rev[i] = outcomes[v.arm][0][person], outcomes[v.arm][1][person]
    return arms, props, conv, rev


def main() -> None:
    """Print truth, median estimate, bias and interval coverage per policy and estimator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=200, help="seeded campaign logs")
    parser.add_argument("--people", type=int, default=5000, help="people per log")
    parser.add_argument("--population", type=int, default=20_000)
    args = parser.parse_args()
    outcomes = potential_outcomes(args.population)
    logs = [log_campaign(outcomes, args.people, seed) for seed in range(args.logs)]
    print(
        f"{args.logs} logs of {args.people:,} people under weights {LOGGING}; "
        f"population {args.population:,}"
    )
    for metric, k in (("conversion", 0), ("revenue/person", 1)):
        print(f"\n{metric}")
        print(
            f"  {'policy':<24}{'truth':>10}  {'estimator':<6}{'median':>10}{'bias':>10}"
            f"{'coverage':>10}{'eff. n':>9}"
        )
        for name, weights in POLICIES.items():
            truth = float(sum(w * outcomes[a][k].mean() for a, w in weights.items()))
            est: dict[str, list[tuple[float, bool, float]]] = {"IPS": [], "SNIPS": []}
            for arms, props, conv, rev in logs:
                reward = conv if k == 0 else rev
                target = np.array([weights[a] for a in arms])
                for value in off_policy_value(reward, props, target):
                    est[value.estimator].append(
                        (value.estimate, value.ci_low <= truth <= value.ci_high, value.effective_n)
                    )
            for estimator, rows in est.items():
                values = [r[0] for r in rows]
                print(
                    f"  {name:<24}{truth:>10.4f}  {estimator:<6}"
                    f"{statistics.median(values):>10.4f}"
                    f"{statistics.fmean(values) - truth:>+10.4f}"
                    f"{sum(r[1] for r in rows) / len(rows):>10.1%}"
                    f"{statistics.median(r[2] for r in rows):>9.0f}"
                )


if __name__ == "__main__":
    main()
