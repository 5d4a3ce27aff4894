"""Multi-pattern phrase lookup: one Aho-Corasick pass over a text finds every phrase of a list.

The checks use it to find which of many phrases (spam words, banned-phrase skeletons, the
literals every claim pattern needs, avoided words) occur in a line, whatever the list's length.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Generic, TypeVar

import ahocorasick

from brand_guardrails.checks._text import required_literal_sets

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class PhraseIndex(Generic[T]):
    """Phrases (exact, already normalised strings) mapped to values, searched all at once."""

    __slots__ = ("_automaton", "_lengths", "_values")

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        """Index `(phrase, value)` pairs; a phrase listed twice keeps all its values."""
        by_phrase: dict[str, list[T]] = {}
        for phrase, value in entries:
            if phrase:
                by_phrase.setdefault(phrase, []).append(value)
        self._automaton: ahocorasick.Automaton | None = None
        # the automaton holds a phrase's number: no tuple to unpack per match
        self._lengths = [len(phrase) for phrase in by_phrase]
        self._values = [tuple(values) for values in by_phrase.values()]
        if by_phrase:
            automaton = ahocorasick.Automaton()
            for i, phrase in enumerate(by_phrase):
                automaton.add_word(phrase, i)
            automaton.make_automaton()
            self._automaton = automaton

    def matches(self, text: str) -> Iterator[tuple[int, int, T]]:
        """`(start, end, value)` of every occurrence of every phrase, overlaps included."""
        if self._automaton is None:
            return
        lengths, values = self._lengths, self._values
        for last, i in self._automaton.iter(text):
            for value in values[i]:
                yield last - lengths[i] + 1, last + 1, value

    def ids_in(self, text: str) -> set[int]:
        """The numbers (in index order) of the distinct phrases that occur in `text`."""
        if self._automaton is None:
            return set()
        return {i for _, i in self._automaton.iter(text)}

    def values_in(self, text: str) -> set[T]:
        """The values of the phrases that occur in `text`."""
        values = self._values
        return {v for i in self.ids_in(text) for v in values[i]}

    def any_in(self, text: str) -> bool:
        """True if any phrase occurs in `text`."""
        if self._automaton is None:
            return False
        return next(self._automaton.iter(text), None) is not None


class LiteralGate(Generic[K]):
    """Which of several regexes can match a text, from the literals their matches need
    (`required_literal_sets`): a pattern is kept when one of its alternatives has a literal of
    every set it needs in the text (a necessary condition).

    One Aho-Corasick pass finds the literals of each alternative's longest-worded set (its
    trigger); only the alternatives so triggered have their other sets tested, by substring
    tests (the common short literals, `in`, `th`, would otherwise be found on every line)."""

    __slots__ = ("_always", "_index", "_rest")

    def __init__(self, patterns: Iterable[tuple[K, str]]) -> None:
        """Index `(key, pattern)` pairs (patterns over lower-case text)."""
        self._always: set[K] = set()
        # per trigger literal: (key, the alternative's other sets) of the alternatives it triggers
        triggers: list[tuple[str, tuple[K, tuple[tuple[str, ...], ...]]]] = []
        for key, pattern in patterns:
            alternatives = required_literal_sets(pattern)
            if alternatives is None:
                self._always.add(key)
                continue
            for sets in alternatives:
                trigger = max(range(len(sets)), key=lambda s: min(map(len, sets[s])))
                rest = sets[:trigger] + sets[trigger + 1 :]
                triggers.extend((lit, (key, rest)) for lit in sets[trigger])
        self._index = PhraseIndex(triggers)

    def keys_in(self, text: str) -> set[K]:
        """The keys of the patterns that may match `text`."""
        out = set(self._always)
        for key, rest in self._index.values_in(text):
            if key not in out and all(any(lit in text for lit in s) for s in rest):
                out.add(key)
        return out
