"""Per-kit caches of compiled patterns, keyed by the kit's fingerprint."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

from brand_guardrails.kit import BrandKit

T = TypeVar("T")


def per_kit(builder: Callable[[BrandKit], T]) -> Callable[[BrandKit], T]:
    """Memoise `builder(kit)` by kit fingerprint; the same kit object skips hashing entirely.

    Kits are frozen; change one with `kit.model_copy(update=...)`, which gives a new object.
    """
    by_fingerprint: dict[str, T] = {}
    by_object: dict[int, tuple[weakref.ref[BrandKit], T]] = {}

    def get(kit: BrandKit) -> T:
        hit = by_object.get(id(kit))
        if hit is not None and hit[0]() is kit:
            return hit[1]
        fp = kit.fingerprint()
        value = by_fingerprint.get(fp)
        if value is None:
            if len(by_fingerprint) > 64:
                by_fingerprint.clear()
            value = by_fingerprint[fp] = builder(kit)
        key = id(kit)
        by_object[key] = (weakref.ref(kit, lambda _r: by_object.pop(key, None)), value)
        return value

    get.__doc__ = builder.__doc__
    return get
