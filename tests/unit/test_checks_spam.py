"""The spam-language score: weighted phrases from a list the brand supplies."""

from __future__ import annotations

from pathlib import Path

import pytest

from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.checks import spam
from brand_guardrails.checks.spam import SpamWordsError, load_spam_words, spam_score
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit, load_brand_kit
from core.models import Channel, Offer, Severity

KIT = load_brand_kit(Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml")


def _kit(words: Path, **policy: object) -> BrandKit:
    update = {"words_path": words, **policy}
    return KIT.model_copy(update={"spam": KIT.spam.model_copy(update=update)})


@pytest.fixture
def words(tmp_path: Path) -> Path:
    folder = tmp_path / "spam_words"
    folder.mkdir()
    (folder / "spam_words_weight1.txt").write_text("Deal\nCash\nRates\n", encoding="utf-8")
    (folder / "spam_words_weight3.txt").write_text("Free gift\nWinner\n", encoding="utf-8")
    (folder / "spam_words_weight6.txt").write_text(
        "Act now\nCash bonus\nWhile supplies last\n$\nDon’t delete\n", encoding="utf-8"
    )
    return folder


def test_loads_a_folder_of_weighted_lists(words: Path) -> None:
    loaded = load_spam_words(words)
    assert loaded["act now"] == 6 and loaded["deal"] == 1 and loaded["don't delete"] == 6


def test_loads_a_tsv_and_names_a_bad_line(tmp_path: Path) -> None:
    tsv = tmp_path / "w.tsv"
    tsv.write_text("# comment\nact now\t6\nfree\tlots\n", encoding="utf-8")
    with pytest.raises(SpamWordsError, match=r"w.tsv:3"):
        load_spam_words(tsv)


def test_score_sums_distinct_phrases_and_warns(words: Path) -> None:
    kit = _kit(words)
    msg = CopyToCheck(channel=Channel.PUSH, body="WINNER! Cash bonus, act now, act now. $5 deal")
    score, phrases = spam_score(kit, msg)
    # act now, cash bonus (not also "cash": the longest phrase wins), $, winner, deal
    assert score == 6 + 6 + 6 + 3 + 1
    assert phrases[:3] == ["$", "act now", "cash bonus"]
    (f,) = spam.check(kit, msg)
    assert f.rule_id == "spam.score" and f.severity == Severity.WARN


def test_block_score_blocks(words: Path) -> None:
    kit = _kit(words, block_score=15)
    msg = CopyToCheck(channel=Channel.PUSH, body="Cash bonus, act now. $5 deal")
    assert [f.severity for f in spam.check(kit, msg)] == [Severity.BLOCK]


def test_plain_copy_and_the_systems_own_disclaimers_score_low(words: Path) -> None:
    kit = _kit(words)
    body = apply_footer(
        kit,
        Channel.SMS,
        "New fleece is in: https://northwind.example/fleece",
        "https://northwind.example/u/1",
        offer=Offer(kind="gift"),
    )
    assert "While supplies last" in body and "rates" in body
    assert spam_score(kit, CopyToCheck(channel=Channel.SMS, body=body)) == (0.0, [])


def test_e_mail_footer_is_not_scored(words: Path) -> None:
    kit = _kit(words)
    body = apply_footer(kit, Channel.EMAIL, "Hi,\n\nNew boots.", "https://northwind.example/u/1")
    msg = CopyToCheck(channel=Channel.EMAIL, subject="Boots", body=body + "\nCash bonus")
    assert spam_score(kit, msg) == (0.0, [])  # after the `--` line: the system's part


def test_no_list_no_check() -> None:
    assert KIT.spam.words_path is None
    msg = CopyToCheck(channel=Channel.PUSH, body="WINNER cash bonus act now")
    assert [f for f in check_message(KIT, msg) if f.rule_id == "spam.score"] == []


def test_relative_path_is_read_from_the_kit_folder(tmp_path: Path, words: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "brands/sample/brand.yaml").read_text()
    kit_file = tmp_path / "brand.yaml"
    kit_file.write_text(text.replace("words_path: null", "words_path: spam_words"))
    kit = load_brand_kit(kit_file)
    assert kit.spam.words_path == words
