"""Benchmark: the two guard models on lines they have never seen (no memo), one core.

    .venv/bin/python bench/guard_models.py --lines 5000

Lines are the copy of `evals/datasets/creep.jsonl` and `roleplay.jsonl`, each made unique by
a counter, as per-person copy is. Prints the median of 5 runs: `creep_lines_per_s=` (the
creep guard with the sample kit's topics), `injection_copy_lines_per_s=` (the `injection`
check family on lines of copy: cues first, the classifier only when one is present),
`injection_lines_per_s=` (the classifier on every line) and `injection_texts_per_s=` (briefs:
whole multi-sentence texts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brand_guardrails.checks import injection
from brand_guardrails.checks.privacy import creep_guard
from brand_guardrails.kit import load_brand_kit

ROOT = Path(__file__).resolve().parent.parent


def _texts(name: str) -> list[str]:
    path = ROOT / "evals" / "datasets" / name
    return [json.loads(x)["text"] for x in path.read_text("utf-8").splitlines() if x.strip()]


def _rate(fn: Callable[[str], object], lines: list[str]) -> float:
    start = time.perf_counter()
    for line in lines:
        fn(line)
    return len(lines) / (time.perf_counter() - start)


def main() -> None:
    """Run and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=5000)
    args = ap.parse_args()
    base = _texts("creep.jsonl") + _texts("roleplay.jsonl")
    guard = creep_guard(load_brand_kit(ROOT / "brands" / "sample" / "brand.yaml"))
    injection.score("warm-up")  # loads the weights

    def unique(run: int) -> list[str]:
        return [f"{base[i % len(base)]} #{run}-{i}" for i in range(args.lines)]

    def score_uncached(text: str) -> object:
        return injection._score.__wrapped__(text)

    briefs = [" ".join(base[i : i + 4]) for i in range(0, len(base) - 4)]
    runs = {
        "creep_lines_per_s": [_rate(guard.scan, unique(r)) for r in range(5)],
        "injection_copy_lines_per_s": [
            _rate(lambda t: injection._scan_line(t, "body"), unique(r + 10)) for r in range(5)
        ],
        "injection_lines_per_s": [_rate(score_uncached, unique(r + 5)) for r in range(5)],
        "injection_texts_per_s": [
            _rate(score_uncached, [f"{b} ({r})" for b in briefs]) for r in range(5)
        ],
    }
    print(f"lines per run: {args.lines}; briefs per run: {len(briefs)}")
    for name, rates in runs.items():
        print(f"{name}={statistics.median(rates):.0f}")


if __name__ == "__main__":
    main()
