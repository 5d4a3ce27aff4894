"""The fast path behind `check_message`: one memo lookup per distinct line for every
text-local family at once, then the message-level checks.

It returns the same findings as running every family's `check` one after another (a test
holds it to that), in family order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from brand_guardrails.checks import (
    FAMILIES,
    email,
    links,
    offers,
    privacy,
    sms,
    spam,
    voice,
)
from brand_guardrails.checks._cache import LineMemo, dedupe, junctions, lines, per_kit
from brand_guardrails.checks._text import Part, parts
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Channel, Finding

_ORDER = {name: i for i, name in enumerate(FAMILIES)}
_MESSAGE_MEMO = 10_000
"""Masked messages whose derived facts are kept (emptied when full)."""
SYSTEM_LINK = "⟨system link⟩"
"""What a system-placed link reads as in the line scans (so lines carrying a per-person
unsubscribe link are shared between messages); the links are checked on their own."""


class _Line(NamedTuple):
    """Every line-local fact of one line (a tuple: cheap to build for every new line)."""

    findings: tuple[Finding, ...]
    stats: voice.LineStats
    spam: tuple[str, ...]
    offer: offers.Facts


class _Masked(NamedTuple):
    """What a message's checks derive from its text with the system links masked: the same for
    every person whose rendering differs from another's only in those links."""

    found: tuple[Finding, ...]
    offer_facts: tuple[tuple[Part, offers.Facts], ...]
    part_stats: tuple[voice.PartStats, ...]
    voice: tuple[Finding, ...] | None
    """Voice findings (None on push, where the length limit reads the unmasked text)."""
    spam: tuple[Finding, ...]


class Engine:
    """All deterministic checks of one kit, with a shared per-line memo."""

    def __init__(self, kit: BrandKit) -> None:
        """Compile the kit's checks."""
        self.kit = kit
        local: list[Callable[[str, Part], Sequence[Finding]]] = [
            memo(kit).scan for family in FAMILIES.values() for memo in family.line_scans
        ]
        across = [memo(kit).scan for family in FAMILIES.values() for memo in family.across_lines]
        stats = voice.line_stats(kit).scan
        hits = spam.hits_memo(kit)
        self._spam = hits is not None
        spam_scan = hits.scan if hits is not None else None

        def scan(line: str, field: Part) -> _Line:
            found = tuple(f for s in local for f in s(line, field))
            return _Line(
                found,
                stats(line, field),
                spam_scan(line, field) if spam_scan else (),
                offers.MEMO.scan(line, field),
            )

        def scan_junction(text: str, field: Part) -> tuple[tuple[Finding, ...], offers.Facts]:
            found = tuple(f for s in across for f in s(text, field) if f.span and "\n" in f.span)
            return found, offers.JUNCTION_MEMO.scan(text, field)

        self._lines = LineMemo(scan)
        self._junctions = LineMemo(scan_junction)
        self._messages: dict[tuple[Channel, tuple[tuple[Part, str], ...]], _Masked] = {}

    def check(self, msg: CopyToCheck) -> list[Finding]:
        """Every finding on one message."""
        kit = self.kit
        texts: list[tuple[Part, str]] = []
        placed: dict[str, None] = {}
        for field, text in parts(msg):
            for link in msg.system_links:
                if link in text:
                    text = text.replace(link, SYSTEM_LINK)
                    placed[link] = None
            texts.append((field, text))
        key = (msg.channel, tuple(texts))
        masked = self._messages.get(key)
        if masked is None:
            if len(self._messages) >= _MESSAGE_MEMO:
                self._messages.clear()
            masked = self._messages[key] = self._masked(msg, texts)
        found = list(masked.found)
        found += links.system_link_findings(placed)
        found = privacy.finish(kit, msg, links.finish(msg, dedupe(found)))
        found += offers.summarise(kit, msg, list(masked.offer_facts))
        found += email.check(kit, msg)
        found += sms.check(kit, msg)
        if masked.voice is None:
            found += voice.summarise(kit, msg, masked.part_stats)
        else:
            found += masked.voice
        found += masked.spam
        found.sort(key=lambda f: _ORDER.get(f.rule_id.split(".", 1)[0], len(_ORDER)))
        return found

    def _masked(self, msg: CopyToCheck, texts: list[tuple[Part, str]]) -> _Masked:
        kit = self.kit
        found: list[Finding] = []
        part_stats: list[voice.PartStats] = []
        spam_hits: set[str] = set()
        offer_facts: list[tuple[Part, offers.Facts]] = []
        for field, text in texts:
            ls = lines(text)
            facts = [self._lines.get(line, field) for line in ls]
            for fact in facts:
                found.extend(fact.findings)
                offer_facts.append((field, fact.offer))
            if "\n" in text:
                for j in junctions(text):
                    at_junction, offer_fact = self._junctions.get(j, field)
                    found.extend(at_junction)
                    offer_facts.append((field, offer_fact))
            content = facts
            if field == "body" and msg.channel == Channel.EMAIL and "--" in ls:
                content = facts[: ls.index("--")]
            part_stats.append((field, [f.stats for f in facts], [f.stats for f in content]))
            if self._spam:
                for fact in content:
                    spam_hits.update(fact.spam)
        spam_found = spam.summarise(kit, spam.score_hits(kit, spam_hits)) if self._spam else []
        return _Masked(
            found=tuple(found),
            # a line that says nothing about offers adds nothing to `offers.summarise`
            offer_facts=tuple((field, fact) for field, fact in offer_facts if any(fact)),
            part_stats=tuple(part_stats),
            voice=(
                None
                if msg.channel == Channel.PUSH
                else tuple(voice.summarise(kit, msg, part_stats))
            ),
            spam=tuple(spam_found),
        )


@per_kit
def engine(kit: BrandKit) -> Engine:
    """The kit's engine (compiled once per kit)."""
    return Engine(kit)
