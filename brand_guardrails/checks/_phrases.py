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

    __slots__ = ("_automaton",)

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        """Index `(phrase, value)` pairs; a phrase listed twice keeps all its values."""
        by_phrase: dict[str, list[T]] = {}
        for phrase, value in entries:
            if phrase:
                by_phrase.setdefault(phrase, []).append(value)
        self._automaton: ahocorasick.Automaton | None = None
        if by_phrase:
            automaton = ahocorasick.Automaton()
            for phrase, values in by_phrase.items():
                automaton.add_word(phrase, (len(phrase), tuple(values)))
            automaton.make_automaton()
            self._automaton = automaton

    def matches(self, text: str) -> Iterator[tuple[int, int, T]]:
        """`(start, end, value)` of every occurrence of every phrase, overlaps included."""
        if self._automaton is None:
            return
        for last, (length, values) in self._automaton.iter(text):
            for value in values:
                yield last - length + 1, last + 1, value

    def values_in(self, text: str) -> set[T]:
        """The values of the phrases that occur in `text`."""
        if self._automaton is None:
            return set()
        return {v for _, (_, values) in self._automaton.iter(text) for v in values}

    def any_in(self, text: str) -> bool:
        """True if any phrase occurs in `text`."""
        if self._automaton is None:
            return False
        return next(self._automaton.iter(text), None) is not None


class LiteralGate(Generic[K]):
    """Which of several regexes can match a text, from one Aho-Corasick pass over the literals
    their matches need (`required_literal_sets`): a pattern is kept when one of its
    alternatives has a literal of every set it needs in the text (a necessary condition)."""

    __slots__ = ("_always", "_index", "_needs")

    def __init__(self, patterns: Iterable[tuple[K, str]]) -> None:
        """Index `(key, pattern)` pairs (patterns over lower-case text)."""
        entries: list[tuple[str, tuple[K, int, int]]] = []
        self._needs: dict[tuple[K, int], int] = {}
        self._always: set[K] = set()
        for key, pattern in patterns:
            alternatives = required_literal_sets(pattern)
            if alternatives is None:
                self._always.add(key)
                continue
            for a, sets in enumerate(alternatives):
                self._needs[(key, a)] = len(sets)
                entries += [(lit, (key, a, s)) for s, lits in enumerate(sets) for lit in lits]
        self._index = PhraseIndex(entries)

    def keys_in(self, text: str) -> set[K]:
        """The keys of the patterns that may match `text`."""
        found = self._index.values_in(text)
        if not found:
            return set(self._always)
        have: dict[tuple[K, int], int] = {}
        for key, a, _ in found:
            have[(key, a)] = have.get((key, a), 0) + 1
        return {ka[0] for ka, n in have.items() if n == self._needs[ka]} | self._always
