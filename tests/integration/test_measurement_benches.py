"""The calibration and off-policy benchmarks on a small population: the figures they print
hold (seeded, so deterministic); the README quotes the full runs."""

from __future__ import annotations

import numpy as np
import pytest

from bench import calibration, ope


@pytest.mark.integration
def test_calibration_intervals_cover_and_the_stopping_rule_holds_its_level() -> None:
    pop = calibration.potential_outcomes(4000)
    assert pop.effect("conversion", "A", "holdout") > 0.01  # the e-mail works in the simulator
    rates = calibration.coverage(pop, 1000, campaigns=100, looks=10, seed=1)
    assert len(rates) == 2 * len(calibration.COMPARISONS)
    assert all(0.9 <= r <= 1.0 for r in rates.values()), rates
    fpr = calibration.aa_false_positives(pop, 4000, runs=100, looks=10, seed=2)
    assert fpr["optimizer's rule (always-valid)"] <= 0.05
    assert fpr["fixed-horizon at every look"] > fpr["optimizer's rule (always-valid)"]


@pytest.mark.integration
def test_ope_log_records_the_logging_probabilities() -> None:
    outcomes = ope.potential_outcomes(2000)
    arms, props, conv, _ = ope.log_campaign(outcomes, 4000, seed=0)
    for arm, weight in ope.LOGGING.items():
        picked = np.array([a == arm for a in arms])
        assert props[picked] == pytest.approx(weight)
        assert picked.mean() == pytest.approx(weight, abs=0.03)
    assert 0 < conv.mean() < 0.2
