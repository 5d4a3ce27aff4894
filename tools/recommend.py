"""Personal product recommendations: what goes with what a person owns, never what they own.

An item-to-item co-purchase model: two products are related by how many people bought both,
normalized by how often each sells (cosine over buyers), so a best-seller does not relate to
everything. A person's candidates are scored by their relation to what the person bought (and,
more weakly, viewed), plus their share of the person's purchases in the candidate's category
times the candidate's popularity within it, plus a little overall popularity so the list is
full even for a person with no history. Products the person already bought are never
recommended. The model is fitted from every purchase (one streamed query) and then answers per
person in memory, so rendering stays cheap; `fitted` keeps the fit until an order or identity
link changes what it was fitted from, so a trigger tick that enrols a few people does not scan
every order again.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.catalog import baskets, best_by_category, orders_fingerprint
from core.db import Database
from core.models import Product

CO_WEIGHT = 1.0
"""Weight of the co-purchase relation to the person's own purchases."""
CATEGORY_WEIGHT = 1.0
"""Weight of (share of the person's purchases in the category) × (popularity in the category)."""
POPULARITY_WEIGHT = 0.1
"""Weight of overall popularity (breaks ties; fills lists for people without history)."""
VIEW_WEIGHT = 0.5
"""Relative weight of a viewed (not bought) product as a seed, against a bought one."""
_MAX_BASKET = 200
"""Products per person counted for co-purchases (a reseller's basket says little)."""
_MEMO = 100_000
"""Answers a fitted recommender keeps (see `Recommender.recommend`)."""
_SHORTLIST = 30
"""Best-sellers per category (and overall) considered beside the co-purchased products."""


class Recommender:
    """Co-purchase recommender over a catalog, fitted from people's purchases."""

    def __init__(self, products: Sequence[Product], purchases: Mapping[str, Sequence[str]]):
        """Fit from `purchases` (person id → product ids bought, any order, repeats allowed).

        Products not in `products` are ignored: only what can be sold is recommended.
        """
        self._fit(products, purchases.values())

    @classmethod
    def from_baskets(
        cls, products: Sequence[Product], baskets: Iterable[Sequence[str]]
    ) -> Recommender:
        """Fit from each person's product ids bought (one sequence per person), read once: a
        stream of baskets is never held in memory."""
        model = cls.__new__(cls)
        model._fit(products, baskets)
        return model

    def _fit(self, products: Sequence[Product], baskets: Iterable[Sequence[str]]) -> None:
        self.products = {p.id: p for p in products}
        buyers: Counter[str] = Counter()
        co: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for items in baskets:
            basket = sorted({i for i in items if i in self.products})[:_MAX_BASKET]
            buyers.update(basket)
            for a in basket:
                row = co[a]
                for b in basket:
                    if a != b:
                        row[b] += 1
        self.buyers = buyers
        self._related: dict[str, dict[str, float]] = {
            a: {b: n / math.sqrt(buyers[a] * buyers[b]) for b, n in row.items()}
            for a, row in co.items()
        }
        top = max(buyers.values(), default=0) or 1
        self._popularity = {pid: buyers[pid] / top for pid in self.products}
        cat_top: Counter[str] = Counter()
        for pid, p in self.products.items():
            cat_top[p.category] = max(cat_top[p.category], buyers[pid])
        self._in_category = {
            pid: buyers[pid] / (cat_top[p.category] or 1) for pid, p in self.products.items()
        }
        self._ranked = sorted(self.products, key=lambda pid: (-buyers[pid], pid))
        by_category: defaultdict[str, list[str]] = defaultdict(list)
        for pid in self._ranked:
            if len(by_category[self.products[pid].category]) < _SHORTLIST:
                by_category[self.products[pid].category].append(pid)
        self._top_in_category = dict(by_category)
        self._memo: dict[tuple[frozenset[str], tuple[str, ...], int], tuple[str, ...]] = {}
        """Answers by (what was bought, what was viewed, k): people with the same history get
        the same list (emptied when full)."""

    def bestsellers(self, k: int = 5, *, exclude: Collection[str] = ()) -> list[str]:
        """The `k` most bought products (by number of buyers), leaving out `exclude`."""
        return [pid for pid in self._ranked if pid not in exclude][:k]

    def recommend(
        self, owned: Collection[str], k: int = 5, *, viewed: Collection[str] = ()
    ) -> list[str]:
        """Up to `k` product ids for a person who bought `owned` (and viewed `viewed`), best
        first; never a product in `owned`."""
        owned_set = frozenset(pid for pid in owned if pid in self.products)
        key = (owned_set, tuple(viewed), k)
        hit = self._memo.get(key)
        if hit is None:
            if len(self._memo) >= _MEMO:
                self._memo.clear()
            hit = self._memo[key] = self._recommend(owned_set, k, viewed)
        return list(hit)

    def _recommend(
        self, owned_set: frozenset[str], k: int, viewed: Collection[str]
    ) -> tuple[str, ...]:
        seeds: dict[str, float] = {pid: 1.0 for pid in owned_set}
        for pid in viewed:
            if pid in self.products and pid not in seeds:
                seeds[pid] = VIEW_WEIGHT
        scores: dict[str, float] = {}
        get = scores.get
        for seed, w in seeds.items():
            for other, rel in self._related.get(seed, {}).items():
                scores[other] = get(other, 0.0) + CO_WEIGHT * w * rel
        total = sum(seeds.values())
        shares: defaultdict[str, float] = defaultdict(float)
        for seed, w in seeds.items():
            shares[self.products[seed].category] += w / total
        for cat, share in shares.items():
            for pid in self._top_in_category.get(cat, ()):
                scores[pid] = get(pid, 0.0) + CATEGORY_WEIGHT * share * self._in_category[pid]
        for pid in self._ranked[: k + len(owned_set)]:  # so the list is always full
            scores.setdefault(pid, 0.0)
        popularity = self._popularity
        ranked = sorted(
            (-(score + POPULARITY_WEIGHT * popularity[pid]), pid)
            for pid, score in scores.items()
            if pid not in owned_set
        )
        return tuple(pid for _, pid in ranked[:k])


_KEPT = 8
"""Fits kept (least recently used goes first): a few brands or databases per process."""


@dataclass(frozen=True)
class Fit:
    """What a campaign needs from every order, fitted once: the recommender and the best-seller
    (product id) of each category and, under None, overall."""

    recommender: Recommender
    best_by_category: dict[str | None, str]


@dataclass
class FitCache:
    """The fits `fitted` keeps, by database, catalog and `orders_fingerprint`."""

    fits: int = 0
    """Fits made (each one a scan of every order)."""
    hits: int = 0
    """Calls answered from a kept fit (one fingerprint query each)."""
    entries: OrderedDict[tuple[object, ...], Fit] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


FITS = FitCache()


def fitted(db: Database, products: Sequence[Product], *, as_of: datetime) -> Fit:
    """The recommender fitted from every order at or before `as_of` over `products`, and the
    best-sellers, from `FITS` when neither the catalog (ids, categories) nor the orders and
    identity links have changed since (`orders_fingerprint`); else fitted now and kept."""
    key = (
        db.url,
        tuple((p.id, p.category) for p in products),
        orders_fingerprint(db, as_of=as_of),
    )
    with FITS.lock:
        fit = FITS.entries.get(key)
        if fit is not None:
            FITS.entries.move_to_end(key)
            FITS.hits += 1
            return fit
    fit = Fit(
        recommender=Recommender.from_baskets(products, baskets(db, as_of=as_of)),
        best_by_category={cat: p.id for cat, p in best_by_category(db).items()},
    )
    with FITS.lock:
        FITS.fits += 1
        FITS.entries[key] = fit
        while len(FITS.entries) > _KEPT:
            FITS.entries.popitem(last=False)
    return fit
