"""The fast path of check_message returns exactly what the families return one by one."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

from bench.guardrails import build_messages
from brand_guardrails.checker import CopyToCheck, check_message
from brand_guardrails.checks import FAMILIES
from brand_guardrails.checks._cache import _KITS, LineMemo, clear_caches, per_kit
from brand_guardrails.checks._engine import engine
from brand_guardrails.footer import apply_footer
from brand_guardrails.kit import BrandKit, load_brand_kit
from core.models import Channel, Finding, Offer

REPO = Path(__file__).resolve().parents[2]
KIT_PATH = REPO / "brands/sample/brand.yaml"
KIT = load_brand_kit(KIT_PATH)


def _key(findings: list[Finding]) -> list[tuple[str, str, str | None, str]]:
    return sorted((f.rule_id, f.field, f.span, f.severity.value) for f in findings)


def _one_by_one(kit: BrandKit, msg: CopyToCheck) -> list[Finding]:
    return [f for family in FAMILIES.values() for f in family.check(kit, msg)]


def _dataset() -> list[CopyToCheck]:
    out = []
    for line in (REPO / "evals/datasets/guardrails.jsonl").read_text().splitlines():
        case = json.loads(line)
        offer = Offer.model_validate(case["offer"]) if case.get("offer") else None
        channel = Channel(case["channel"])
        link = "http://127.0.0.1:8000/u/tok.sig"
        body = case["body"]
        if case.get("footer", True):
            body = apply_footer(KIT, channel, body, link, offer=offer)
        out.append(
            CopyToCheck(
                channel=channel,
                subject=case.get("subject"),
                body=body,
                offer=offer,
                system_links=(link,),
                recipient=case.get("recipient"),
            )
        )
    return out


def test_engine_equals_the_families_on_the_dataset_and_rendered_copy(tmp_path: Path) -> None:
    words = tmp_path / "spam.tsv"
    words.write_text("free gift\t3\nact now\t6\nlimited time\t6\n$\t6\n", encoding="utf-8")
    kit = KIT.model_copy(update={"spam": KIT.spam.model_copy(update={"words_path": words})})
    msgs = _dataset() + build_messages(KIT_PATH, 600)
    assert len(msgs) > 700
    for msg in msgs:
        assert _key(check_message(kit, msg)) == _key(_one_by_one(kit, msg)), msg.body
        # and again, from the memo
        assert _key(check_message(kit, msg)) == _key(_one_by_one(kit, msg)), msg.body


def test_phrases_split_over_a_line_break_are_found() -> None:
    msg = CopyToCheck(
        channel=Channel.PUSH, body="Gear for the trail. Act\nnow, it is guaran-\nteed"
    )
    found = {f.rule_id for f in check_message(KIT, msg)}
    assert "banned.phrase" in found
    assert _key(check_message(KIT, msg)) == _key(_one_by_one(KIT, msg))


def test_system_link_is_masked_but_still_checked_for_personal_data() -> None:
    bad = "https://northwind.example/u/x?email=ann@example.com"
    body = apply_footer(KIT, Channel.EMAIL, "Hi Ann,\n\nNew boots are in.", bad)
    msg = CopyToCheck(channel=Channel.EMAIL, subject="New boots", body=body, system_links=(bad,))
    assert [f.rule_id for f in check_message(KIT, msg)] == ["links.personal_data_in_url"]


def test_line_memo_is_bounded() -> None:
    calls: list[str] = []
    memo: LineMemo[int] = LineMemo(lambda line, _f: calls.append(line) or len(line), 3)
    for x in ["a", "bb", "a", "ccc", "dddd", "a"]:
        memo.get(x, "body")
    assert calls == ["a", "bb", "ccc", "dddd", "a"]  # emptied after three distinct lines


def test_clear_caches_forgets_compiled_checks_and_lines() -> None:
    calls: list[str] = []
    memo: LineMemo[int] = LineMemo(lambda line, _f: calls.append(line) or len(line))
    memo.get("a", "body")
    before = engine(KIT)
    clear_caches()
    memo.get("a", "body")
    assert calls == ["a", "a"]
    assert engine(KIT) is not before
    assert engine(KIT) is engine(KIT)


def test_per_kit_keeps_only_the_most_recently_used_kits() -> None:
    """Every kit stays alive here (as in a process serving many brands): their compiled
    checks do not, beyond the last `_KITS` used; the most recently used are not rebuilt."""

    class Built:
        """A stand-in for compiled checks, observable by weak reference."""

    built: list[str] = []
    refs: list[weakref.ref[Built]] = []

    def build(kit: BrandKit) -> Built:
        built.append(kit.name)
        value = Built()
        refs.append(weakref.ref(value))
        return value

    compiled = per_kit(build)
    kits = [KIT.model_copy(update={"name": f"Brand {i}"}) for i in range(_KITS + 6)]
    for kit in kits:
        compiled(kit)
    gc.collect()
    assert sum(r() is not None for r in refs) == _KITS
    first = compiled(kits[-_KITS])  # kept: no rebuild, and now the most recently used
    assert len(built) == len(kits)
    compiled(kits[0])  # evicted long ago: rebuilt, pushing out the least recently used
    assert built[-1] == "Brand 0" and compiled(kits[-_KITS]) is first
    compiled(kits[-_KITS + 1])  # the one pushed out
    assert built[-1] == kits[-_KITS + 1].name
    gc.collect()
    assert sum(r() is not None for r in refs) == _KITS


def test_people_sharing_a_rendering_get_their_own_link_and_recipient_findings() -> None:
    # The second and later messages reuse the first one's masked facts; what depends on the
    # person (their link, their own contact details, their private values) is still theirs.
    # Push has a length limit read from the unmasked text: the links differ in length.
    text = "Hi Ann,\n\nNew boots are in. Questions? Write to ann@example.com or Whitfield."
    cases = [
        ("https://northwind.example/u/tok1.sig", {"email": "ann@example.com"}),
        ("https://northwind.example/u/x?email=ann@example.com", {"email": "ann@example.com"}),
        ("https://northwind.example/u/tok3.sig", {"email": "bob@example.com"}),
        (
            "https://northwind.example/u/tok4.sig",
            {"email": "ann@example.com", "last_name": "Whitfield"},
        ),
    ]
    seen = []
    for channel in (Channel.EMAIL, Channel.PUSH):
        for link, recipient in cases:
            # push carries no footer link: put the link in the text, as a template might
            body = apply_footer(
                KIT, channel, text + (f" {link}" if channel == Channel.PUSH else ""), link
            )
            msg = CopyToCheck(
                channel=channel,
                subject="New boots" if channel == Channel.EMAIL else None,
                body=body,
                system_links=(link,),
                recipient=recipient,
            )
            got = check_message(KIT, msg)
            assert _key(got) == _key(_one_by_one(KIT, msg)), (channel, link, recipient)
            seen.append({f.rule_id for f in got})
    assert "links.personal_data_in_url" in seen[1] and "links.personal_data_in_url" not in seen[0]
    assert "privacy.personal_data" in seen[2] and "privacy.personal_data" not in seen[0]
    assert "privacy.private_field" in seen[3]


def test_a_system_link_the_text_does_not_carry_is_not_reported() -> None:
    # SMS and push footers carry no unsubscribe link: the system link is not in the text, so
    # neither check_message nor the links family may report it (check_message used to).
    bad = "https://northwind.example/u/x?email=ann@example.com"
    for channel in (Channel.SMS, Channel.PUSH):
        body = apply_footer(KIT, channel, "New boots are in: https://northwind.example/p/1", bad)
        assert bad not in body
        msg = CopyToCheck(channel=channel, body=body, system_links=(bad,))
        assert check_message(KIT, msg) == [], channel
        assert _one_by_one(KIT, msg) == [], channel
        # carried in the text, it is reported by both
        msg = CopyToCheck(channel=channel, body=f"{body} {bad}", system_links=(bad,))
        assert "links.personal_data_in_url" in {f.rule_id for f in check_message(KIT, msg)}
        assert "links.personal_data_in_url" in {f.rule_id for f in _one_by_one(KIT, msg)}
