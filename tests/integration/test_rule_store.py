"""The rule store with real Chroma and the real local embedding model."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from brand_guardrails.kit import BrandKit, load_brand_kit
from brand_guardrails.rules import rules_from_kit
from brand_guardrails.store import RuleStore
from core.models import Channel

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "brands" / "sample" / "brand.yaml"


@pytest.fixture(scope="module")
def kit() -> BrandKit:
    return load_brand_kit(SAMPLE)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory, kit: BrandKit) -> Path:
    d = tmp_path_factory.mktemp("rules")
    assert RuleStore(d).index(kit) == len(rules_from_kit(kit))
    return d


def test_sms_opt_out_rule_ranks_first(store_dir: Path, kit: BrandKit) -> None:
    rules = RuleStore(store_dir).retrieve(
        "what must every SMS include to let people opt out?", brand_id=kit.id, channel=Channel.SMS
    )
    assert rules[0].id == "sms.opt_out"
    assert all(r.channel in ("any", "sms") for r in rules)


def test_email_discount_question_finds_the_disclaimer(store_dir: Path, kit: BrandKit) -> None:
    rules = RuleStore(store_dir).retrieve(
        "what text is required when an e-mail offers a percentage discount?",
        brand_id=kit.id,
        channel=Channel.EMAIL,
        k=6,
    )
    assert "disclaimer.offer.percent_off" in [r.id for r in rules[:3]]
    assert all(r.channel in ("any", "email") for r in rules)


def test_reindex_is_idempotent_and_drops_removed_rules(tmp_path: Path, kit: BrandKit) -> None:
    store = RuleStore(tmp_path)
    n = store.index(kit)
    assert store.index(kit) == n
    smaller = kit.model_copy(update={"competitor_names": [], "frequency_caps": {}})
    assert store.index(smaller) == n - 4
    ids = {r.id for r in store.retrieve("competitors", brand_id=kit.id, k=50)}
    assert "banned.competitors" not in ids and len(ids) == n - 4


def test_unknown_brand_retrieves_nothing(tmp_path: Path) -> None:
    assert RuleStore(tmp_path).retrieve("anything", brand_id="nobody") == []


def test_new_process_reads_the_persisted_store(store_dir: Path) -> None:
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from brand_guardrails.store import RuleStore
        from core.models import Channel
        rules = RuleStore(Path({str(store_dir)!r})).retrieve(
            "how do people unsubscribe from texts?", brand_id="northwind", channel=Channel.SMS
        )
        print(rules[0].id)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "sms.opt_out"
