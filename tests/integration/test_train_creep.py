"""The shipped creep-classifier weights are what `evals/train_creep.py` produces, and it never
trains on the cases the eval holds out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brand_guardrails.checks.creep_model import MODEL_PATH
from evals.train_creep import main, real_cases, template_cases

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DATASETS = Path(__file__).resolve().parents[2] / "evals" / "datasets"


def test_training_never_sees_fresh_held_out_or_sealed_cases() -> None:
    import json

    rows = [
        json.loads(x) for x in (DATASETS / "creep.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    kept = [r["text"] for r in rows if r.get("fresh") or r.get("held_out") or r.get("sealed")]
    assert len(kept) >= 300 and sum(bool(r.get("sealed")) for r in rows) >= 100
    trained = {t for t, _ in real_cases() + template_cases()}
    assert not trained & set(kept)


def test_training_reproduces_the_shipped_weights(tmp_path: Path) -> None:
    out = tmp_path / "creep.npz"
    main(["--out", str(out)])
    with np.load(out) as new, np.load(MODEL_PATH) as shipped:
        assert list(new["labels"]) == list(shipped["labels"])
        assert abs(float(new["threshold"]) - float(shipped["threshold"])) < 1e-3
        assert np.abs(new["W"] - shipped["W"]).max() < 5e-3
        assert np.abs(new["b"] - shipped["b"]).max() < 5e-3
