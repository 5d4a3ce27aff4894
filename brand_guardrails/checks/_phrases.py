"""Multi-pattern phrase lookup: one Aho-Corasick pass over a text finds every phrase of a list.

The checks use it to find which of many phrases (spam words, banned-phrase skeletons, the
literals every claim pattern needs, avoided words) occur in a line, whatever the list's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import ahocorasick

T = TypeVar("T")


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
