"""Audience matching and the holdout split (pure functions; features built by hand)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from core.models import Audience, AudienceFilter
from tools.audience import CustomerFeatures, matches, select_audience, split_holdout


def _features(cid: str = "c1", **kw: Any) -> CustomerFeatures:
    base: dict[str, Any] = {
        "customer_id": cid,
        "recency_days": 75.0,
        "frequency": 3,
        "monetary": 240.0,
        "favorite_category": "outdoor",
        "cart_abandoned": False,
        "lifecycle_stage": "at_risk",
        "country": "US",
        "views_30d": 4,
        "last_viewed_product_id": "prd_001",
        "last_bought_product_id": "prd_002",
        "last_cart_product_id": None,
    }
    base.update(kw)
    return CustomerFeatures(**base)


def _aud(*filters: tuple[str, str, Any], name: str = "a") -> Audience:
    return Audience(
        name=name,
        filters=[AudienceFilter(feature=f, op=op, value=v) for f, op, v in filters],  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (("recency_days", "gt", 60), True),
        (("recency_days", "gt", 75), False),
        (("recency_days", "gte", 75), True),
        (("recency_days", "lt", 75), False),
        (("recency_days", "lte", 75), True),
        (("recency_days", "gt", "60"), True),  # numbers written as text still compare
        (("frequency", "eq", 3), True),
        (("frequency", "ne", 3), False),
        (("favorite_category", "eq", "outdoor"), True),
        (("favorite_category", "in", ["home", "outdoor"]), True),
        (("favorite_category", "in", ["home"]), False),
        (("favorite_category", "contains", "OUT"), True),
        (("lifecycle_stage", "in", ["lapsed", "at_risk"]), True),
        (("cart_abandoned", "eq", False), True),
        (("cart_abandoned", "eq", "true"), False),
        (("country", "ne", "GB"), True),
    ],
)
def test_each_operator(flt: tuple[str, str, Any], expected: bool) -> None:
    assert matches(_features(), _aud(flt)) is expected


def test_filters_are_anded_and_empty_audience_matches_everyone() -> None:
    f = _features()
    assert matches(f, _aud(("recency_days", "gt", 60), ("country", "eq", "US")))
    assert not matches(f, _aud(("recency_days", "gt", 60), ("country", "eq", "GB")))
    assert matches(f, Audience(name="all"))


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_none_never_matches_a_numeric_comparison(op: str) -> None:
    never_bought = _features(recency_days=None, frequency=0, lifecycle_stage="prospect")
    assert not matches(never_bought, _aud(("recency_days", op, 0)))
    assert not matches(never_bought, _aud(("recency_days", op, 10_000)))


def test_none_category_does_not_contain_anything() -> None:
    assert not matches(
        _features(favorite_category=None), _aud(("favorite_category", "contains", "out"))
    )


def test_numeric_comparison_on_text_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="favorite_category is a text feature: operator 'gt'"):
        _aud(("favorite_category", "gt", 3))


def test_select_audience_first_match_wins_and_sorted_by_id() -> None:
    feats = {
        "c3": _features("c3", cart_abandoned=True),
        "c1": _features("c1", lifecycle_stage="lapsed", recency_days=200.0),
        "c2": _features("c2", lifecycle_stage="active", recency_days=5.0),
    }
    audiences = [
        _aud(("cart_abandoned", "eq", True), name="carts"),
        _aud(("recency_days", "gt", 60), name="winback"),
    ]
    # c3 matches both (recency 75) and goes to the first; c2 matches none.
    assert select_audience(feats, audiences) == [("c1", "winback"), ("c3", "carts")]


def test_split_holdout_is_stable_and_independent_of_other_members() -> None:
    ids = [f"cus_{i:05d}" for i in range(2000)]
    treated, holdout = split_holdout("cmp_1", ids, 0.1)
    assert sorted(treated + holdout) == sorted(ids)
    assert not set(treated) & set(holdout)
    assert split_holdout("cmp_1", ids, 0.1) == (treated, holdout)
    # A person's group does not depend on who else is in the audience, nor on order.
    subset = ids[::7]
    t2, h2 = split_holdout("cmp_1", list(reversed(subset)), 0.1)
    assert set(h2) == set(holdout) & set(subset)
    assert set(t2) == set(treated) & set(subset)
    # Input order is kept within each group.
    assert treated == [i for i in ids if i in set(treated)]
    # Another campaign splits differently.
    assert split_holdout("cmp_2", ids, 0.1)[1] != holdout


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.3])
def test_split_holdout_size_is_binomial(fraction: float) -> None:
    n = 20_000
    _, holdout = split_holdout("cmp_size", [f"c{i}" for i in range(n)], fraction)
    sd = math.sqrt(n * fraction * (1 - fraction))
    assert abs(len(holdout) - n * fraction) < 4 * sd


def test_split_holdout_edges() -> None:
    ids = ["a", "b", "c"]
    assert split_holdout("x", ids, 0.0) == (ids, [])
    assert split_holdout("x", ids, 1.0) == ([], ids)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_holdout("x", ids, 1.5)


@pytest.mark.parametrize(
    ("bought", "hit"),
    [
        (["Summit Tent", "outdoor"], True),
        (["Alpine Tents", "outdoor"], True),  # plural
        (["Content Creator Kit", "home"], False),  # not a whole word
        ([], False),
    ],
)
def test_bought_contains_a_whole_word_of_a_purchased_product(bought: list[str], hit: bool) -> None:
    assert matches(_features(bought=bought), _aud(("bought", "contains", "tent"))) is hit
