"""The guardrail eval on the repo's datasets (and the SMS spam data when present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brand_guardrails.kit import load_brand_kit
from evals.runner import run_evals

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
KIT = load_brand_kit(REPO / "brands" / "sample" / "brand.yaml")
DATASETS = REPO / "evals" / "datasets"


def test_dataset_is_large_and_covers_every_family() -> None:
    lines = (DATASETS / "guardrails.jsonl").read_text().splitlines()
    cases = [json.loads(x) for x in lines if x.strip()]
    assert len(cases) >= 120
    families = {r.split(".")[0] for c in cases for r in c["rules"]}
    assert families >= {"banned", "claims", "offer", "email", "sms", "tokens", "links", "privacy"}
    assert sum(c["expect"] == "pass" for c in cases) >= 30


def test_eval_passes_on_the_repo_datasets(tmp_path: Path) -> None:
    report = run_evals(KIT, datasets_dir=DATASETS, report_dir=tmp_path)
    assert report.passed, report.failures
    assert report.cases >= 120
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is True
    assert "PASSED" in (tmp_path / "report.md").read_text()


def test_a_broken_check_fails_the_eval(tmp_path: Path) -> None:
    broken = KIT.model_copy(update={"banned_phrases": []})
    report = run_evals(broken, datasets_dir=DATASETS, report_dir=tmp_path)
    assert not report.passed
    assert any(f.startswith("banned: recall") for f in report.failures)
    assert "FAILED" in (tmp_path / "report.md").read_text()


def test_sms_spam_collection(tmp_path: Path, shared_data: Path) -> None:
    report = run_evals(KIT, datasets_dir=DATASETS, report_dir=tmp_path, shared_data=shared_data)
    assert report.sms_spam is not None
    assert report.sms_spam.ham > 4000 and report.sms_spam.spam > 700
    assert report.sms_spam.ham_false_block_rate <= 0.03
    assert report.sms_spam.spam_recall >= 0.3
    assert report.passed, report.failures


def test_injection_detection_is_measured_and_gated(tmp_path: Path, shared_data: Path) -> None:
    report = run_evals(KIT, datasets_dir=DATASETS, report_dir=tmp_path, shared_data=shared_data)
    by_source = {e.source: e for e in report.injection}
    held = by_source["deepset held-out half"]
    assert held.n > 200 and held.precision >= 0.9 and held.recall >= 0.5
    assert by_source["project cases (injection.jsonl)"].n >= 40
    assert "Prompt-injection detection" in (tmp_path / "report.md").read_text()
    strict = tmp_path / "strict.yaml"
    text = (REPO / "evals" / "thresholds.yaml").read_text()
    strict.write_text(text.replace("recall_min: 0.5\n", "recall_min: 0.99\n"))
    failed = run_evals(
        KIT,
        datasets_dir=DATASETS,
        report_dir=tmp_path,
        shared_data=shared_data,
        thresholds_path=strict,
    )
    assert any(f.startswith("injection (deepset held-out half): recall") for f in failed.failures)
