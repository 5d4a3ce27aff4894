"""Personal product recommendations: what goes with what a person owns, never what they own.

An item-to-item co-purchase model: two products are related by how many people bought both,
normalized by how often each sells (cosine over buyers), so a best-seller does not relate to
everything. A person's candidates are scored by their relation to what the person bought (and,
more weakly, viewed), plus their share of the person's purchases in the candidate's category
times the candidate's popularity within it, plus a little overall popularity so the list is
full even for a person with no history. Products the person already bought are never
recommended. The model is fitted once per campaign from every purchase (one query) and then
answers per person in memory, so rendering stays cheap.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence

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
_SHORTLIST = 30
"""Best-sellers per category (and overall) considered beside the co-purchased products."""


class Recommender:
    """Co-purchase recommender over a catalog, fitted from people's purchases."""

    def __init__(self, products: Sequence[Product], purchases: Mapping[str, Sequence[str]]):
        """Fit from `purchases` (person id → product ids bought, any order, repeats allowed).

        Products not in `products` are ignored: only what can be sold is recommended.
        """
        self.products = {p.id: p for p in products}
        buyers: Counter[str] = Counter()
        co: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for items in purchases.values():
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

    def bestsellers(self, k: int = 5, *, exclude: Collection[str] = ()) -> list[str]:
        """The `k` most bought products (by number of buyers), leaving out `exclude`."""
        return [pid for pid in self._ranked if pid not in exclude][:k]

    def recommend(
        self, owned: Collection[str], k: int = 5, *, viewed: Collection[str] = ()
    ) -> list[str]:
        """Up to `k` product ids for a person who bought `owned` (and viewed `viewed`), best
        first; never a product in `owned`."""
        owned_set = {pid for pid in owned if pid in self.products}
        seeds: dict[str, float] = {pid: 1.0 for pid in owned_set}
        for pid in viewed:
            if pid in self.products and pid not in seeds:
                seeds[pid] = VIEW_WEIGHT
        scores: defaultdict[str, float] = defaultdict(float)
        for seed, w in seeds.items():
            for other, rel in self._related.get(seed, {}).items():
                scores[other] += CO_WEIGHT * w * rel
        total = sum(seeds.values())
        shares: defaultdict[str, float] = defaultdict(float)
        for seed, w in seeds.items():
            shares[self.products[seed].category] += w / total
        for cat, share in shares.items():
            for pid in self._top_in_category.get(cat, ()):
                scores[pid] += CATEGORY_WEIGHT * share * self._in_category[pid]
        for pid in self._ranked[: k + len(owned_set)]:  # so the list is always full
            scores.setdefault(pid, 0.0)
        for pid in scores:
            scores[pid] += POPULARITY_WEIGHT * self._popularity[pid]
        ranked = sorted(
            (pid for pid in scores if pid not in owned_set), key=lambda pid: (-scores[pid], pid)
        )
        return ranked[:k]
