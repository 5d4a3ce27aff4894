"""Per-kit caches of compiled patterns, and per-line memos of scan results.

Rendered messages share most of their lines (the compliance footer, the template's fixed
sentences), so text-local scans run once per distinct line and are looked up afterwards.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any, Generic, TypeVar

from brand_guardrails.checks._text import Part, parts
from brand_guardrails.kit import BrandKit
from brand_guardrails.message import CopyToCheck
from core.models import Finding

T = TypeVar("T")

_JUNCTION = 40
"""Characters taken from each side of a line break when checking phrases across lines."""


_KITS = 16
"""How many kits' compiled checks and memos each `per_kit` function keeps (least recently used
out first). Compiling a kit's checks takes ~25 ms, so a process that serves more brands than this
in turn compiles them again for every message; fewer would do that to a multi-brand service."""
_PER_KIT: list[tuple[dict[str, Any], dict[int, Any]]] = []
"""The caches of every `per_kit` function (for `clear_caches`)."""
_MEMOS: weakref.WeakSet[LineMemo[Any]] = weakref.WeakSet()
"""Every line memo (for `clear_caches`)."""


def clear_caches() -> None:
    """Forget every kit's compiled checks and every line memo (a benchmark's runs start cold,
    and the memos of earlier runs no longer weigh on garbage collection)."""
    for by_fingerprint, by_object in _PER_KIT:
        by_fingerprint.clear()
        by_object.clear()
    for memo in list(_MEMOS):
        memo.clear()


def per_kit(builder: Callable[[BrandKit], T]) -> Callable[[BrandKit], T]:
    """Memoise `builder(kit)` by kit fingerprint; the same kit object skips hashing entirely.

    Only the `_KITS` most recently used kits are kept: a value may hold line memos of up to
    50,000 lines, and a process may see many kits (edited copies, many brands). A kept value
    may hold its kit, so up to `_KITS` kit objects stay alive per function. Safe across threads.
    Kits are frozen; change one with `kit.model_copy(update=...)`, which gives a new object.
    """
    by_fingerprint: OrderedDict[str, T] = OrderedDict()
    by_object: dict[int, tuple[weakref.ref[BrandKit], str]] = {}
    _PER_KIT.append((by_fingerprint, by_object))

    lock = threading.RLock()  # API threads; reentrant: a builder may use per_kit functions

    def get(kit: BrandKit) -> T:
        hit = by_object.get(id(kit))
        if hit is not None and hit[0]() is kit:
            value = by_fingerprint.get(hit[1])
            if value is not None:  # (None: another thread has just pushed it out)
                with lock:
                    if hit[1] in by_fingerprint:
                        by_fingerprint.move_to_end(hit[1])
                return value
        with lock:
            fp = kit.fingerprint()
            value = by_fingerprint.get(fp)
            if value is None:
                value = by_fingerprint[fp] = builder(kit)
                if len(by_fingerprint) > _KITS:
                    old, _ = by_fingerprint.popitem(last=False)
                    for key in [k for k, (_, f) in by_object.items() if f == old]:
                        del by_object[key]
            else:
                by_fingerprint.move_to_end(fp)
            key = id(kit)
            by_object[key] = (weakref.ref(kit, lambda _r: by_object.pop(key, None)), fp)
            return value

    get.__doc__ = builder.__doc__
    return get


class LineMemo(Generic[T]):
    """A bounded memo of `scan(line, field)`; it is emptied when it reaches `max_entries`.

    Values are shared between messages: callers must not mutate them.
    """

    __slots__ = ("__weakref__", "_by_field", "_max", "_scan", "_size")

    def __init__(self, scan: Callable[[str, Part], T], max_entries: int = 50_000) -> None:
        """Wrap a pure function of one line of text and the part it belongs to."""
        self._scan = scan
        self._by_field: dict[str, dict[str, T]] = {"subject": {}, "body": {}}
        self._size = 0
        self._max = max_entries
        _MEMOS.add(self)

    @property
    def scan(self) -> Callable[[str, Part], T]:
        """The wrapped scan, uncached."""
        return self._scan

    def get(self, line: str, field: Part) -> T:
        """The scan result of one line (computed on first sight)."""
        memo = self._by_field[field]
        try:
            return memo[line]
        except KeyError:
            pass
        value = self._scan(line, field)
        if self._size >= self._max:
            self.clear()
        memo[line] = value
        self._size += 1
        return value

    def clear(self) -> None:
        """Forget every line."""
        for m in self._by_field.values():
            m.clear()
        self._size = 0


@lru_cache(maxsize=256)
def lines(text: str) -> tuple[str, ...]:
    """The non-empty lines of a text."""
    return tuple(x for x in text.split("\n") if x)


@lru_cache(maxsize=256)
def junctions(text: str) -> tuple[str, ...]:
    """The text around each line break (tail of a line, `\\n`, head of the next line), cut
    between words: a piece of a word at a cut would read as a word of its own (`10% off` cut
    to `0% off`, `contact` to `act`)."""
    return tuple(_junction(a, b) for a, b in pairwise(text.split("\n")) if a and b)


@lru_cache(maxsize=4096)
def _junction(a: str, b: str) -> str:
    """The junction of two lines (memoised: footers and templates repeat their line pairs)."""
    return _tail(a) + "\n" + _head(b)


def _tail(line: str) -> str:
    """The last `_JUNCTION` characters of a line, less a word cut at the front."""
    if len(line) <= _JUNCTION:
        return line
    tail = line[-_JUNCTION:]
    start = 0
    if line[-_JUNCTION - 1].isalnum():
        while start < len(tail) and tail[start].isalnum():
            start += 1
    return tail[start:]


def _head(line: str) -> str:
    """The first `_JUNCTION` characters of a line, less a word cut at the end."""
    if len(line) <= _JUNCTION:
        return line
    head = line[:_JUNCTION]
    end = len(head)
    if line[_JUNCTION].isalnum():
        while end and head[end - 1].isalnum():
            end -= 1
    return head[:end]


def scan_lines(
    memo: LineMemo[Sequence[Finding]], msg: CopyToCheck, *, across_lines: bool = False
) -> list[Finding]:
    """Findings of a line scan over every part of a message, de-duplicated.

    With `across_lines`, matches that span a line break (`act⏎now`) are found as well.
    """
    out: list[Finding] = []
    for field, text in parts(msg):
        for line in lines(text):
            out.extend(memo.get(line, field))
        if across_lines and "\n" in text:
            for j in junctions(text):
                out.extend(f for f in memo.get(j, field) if f.span and "\n" in f.span)
    return dedupe(out)


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Findings with repeats of the same (rule, part, span) removed, order kept."""
    if len(findings) < 2:
        return findings
    seen: set[tuple[str, str, str | None]] = set()
    out: list[Finding] = []
    for f in findings:
        key = (f.rule_id, f.field, f.span)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
