"""Hillstrom MineThatData e-mail test: per-arm rates and lifts against the No E-Mail holdout.

Usage: `python bench/hillstrom.py [--data PATH]` (default: ../shared/data/hillstrom/hillstrom.csv
relative to the project root). Prints arm sizes, visit/conversion/spend per arm and for the whole
file, and the Mens and Womens e-mail lifts with 95 % intervals (tools.statistics).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pydantic import BaseModel

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(_ROOT))

from tools.statistics import LiftEstimate, mean_lift, proportion_lift  # noqa: E402

DEFAULT_DATA = _ROOT.parent / "shared" / "data" / "hillstrom" / "hillstrom.csv"
HOLDOUT = "No E-Mail"
TREATMENTS = ("Mens E-Mail", "Womens E-Mail")


class Arm(BaseModel):
    """Outcomes of one arm of the test."""

    name: str
    """Segment name in the file (`Mens E-Mail`, `Womens E-Mail`, `No E-Mail`) or `All`."""
    n: int
    """Customers in the arm."""
    visits: int
    """Customers who visited the site within two weeks."""
    conversions: int
    """Customers who bought within two weeks."""
    spend: list[float]
    """Spend of every customer in the arm (0 for most)."""

    @property
    def visit_rate(self) -> float:
        """Share of customers who visited."""
        return self.visits / self.n

    @property
    def conversion_rate(self) -> float:
        """Share of customers who bought."""
        return self.conversions / self.n

    @property
    def spend_per_customer(self) -> float:
        """Mean spend per customer, buyers and non-buyers."""
        return sum(self.spend) / self.n


class HillstromReport(BaseModel):
    """Arms, the whole file, and each e-mail arm's lifts against the holdout."""

    arms: dict[str, Arm]
    """Per-arm outcomes, keyed by segment name."""
    total: Arm
    """The whole file."""
    lifts: dict[str, list[LiftEstimate]]
    """Per treatment arm: visit, conversion and spend-per-customer lift vs No E-Mail."""


def load_arms(path: Path) -> dict[str, Arm]:
    """Read the CSV into one `Arm` per segment."""
    if not path.is_file():
        raise FileNotFoundError(f"Hillstrom CSV not found at {path}; pass --data PATH")
    arms: dict[str, Arm] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            arm = arms.setdefault(
                row["segment"], Arm(name=row["segment"], n=0, visits=0, conversions=0, spend=[])
            )
            arm.n += 1
            arm.visits += int(row["visit"])
            arm.conversions += int(row["conversion"])
            arm.spend.append(float(row["spend"]))
    missing = {HOLDOUT, *TREATMENTS} - arms.keys()
    if missing:
        raise ValueError(f"{path} lacks the segments {sorted(missing)}; is it the Hillstrom file?")
    order = [*TREATMENTS, HOLDOUT]
    return dict(sorted(arms.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


def analyse(path: Path) -> HillstromReport:
    """Arm figures and lifts of each e-mail arm against the No E-Mail holdout."""
    arms = load_arms(path)
    total = Arm(
        name="All",
        n=sum(a.n for a in arms.values()),
        visits=sum(a.visits for a in arms.values()),
        conversions=sum(a.conversions for a in arms.values()),
        spend=[s for a in arms.values() for s in a.spend],
    )
    hold = arms[HOLDOUT]
    lifts = {
        name: [
            proportion_lift(arms[name].visits, arms[name].n, hold.visits, hold.n, metric="visit"),
            proportion_lift(
                arms[name].conversions, arms[name].n, hold.conversions, hold.n, metric="conversion"
            ),
            mean_lift(arms[name].spend, hold.spend, metric="spend_per_customer"),
        ]
        for name in TREATMENTS
    }
    return HillstromReport(arms=arms, total=total, lifts=lifts)


def _print(report: HillstromReport) -> None:
    print(f"{'arm':<15}{'n':>8}{'visit':>9}{'conversion':>12}{'spend/cust':>12}")
    for arm in [*report.arms.values(), report.total]:
        print(
            f"{arm.name:<15}{arm.n:>8,}{arm.visit_rate:>9.2%}{arm.conversion_rate:>12.3%}"
            f"{arm.spend_per_customer:>12.3f}"
        )
    print(f"\nLift against {HOLDOUT} (95 % intervals)")
    for name, estimates in report.lifts.items():
        for e in estimates:
            unit, scale = ("pp", 100.0) if e.metric != "spend_per_customer" else ("$", 1.0)
            print(
                f"{name:<15}{e.metric:<20}{e.estimate * scale:>+8.3f} {unit} "
                f"[{e.ci_low * scale:+.3f}, {e.ci_high * scale:+.3f}]  p={e.p_value:.2g}"
            )


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the report for the CSV at --data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="path to hillstrom.csv")
    args = parser.parse_args(argv)
    try:
        report = analyse(args.data)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
