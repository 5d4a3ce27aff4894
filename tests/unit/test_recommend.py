"""Co-purchase recommendations: never what the person owns, what goes with it first."""

from __future__ import annotations

from agents.content import step_stage
from core.models import Channel, JourneyStep, Product
from tools.recommend import Recommender


def _p(pid: str, category: str) -> Product:
    return Product(id=pid, name=pid, category=category, price=10, url=f"https://x.example/{pid}")


CATALOG = [
    _p("tent", "outdoor"),
    _p("stakes", "outdoor"),
    _p("stove", "outdoor"),
    _p("boots", "footwear"),
    _p("socks", "footwear"),
    _p("tee", "apparel"),
]


def _purchases() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in range(40):  # tents go with stakes
        out[f"a{i}"] = ["tent", "stakes"]
    for i in range(30):  # boots go with socks
        out[f"b{i}"] = ["boots", "socks"]
    for i in range(100):  # the best-seller, bought alone
        out[f"c{i}"] = ["tee"]
    out["d0"] = ["tent", "stove"]
    return out


def test_recommends_what_goes_with_the_purchase_and_never_what_is_owned() -> None:
    model = Recommender(CATALOG, _purchases())
    assert model.bestsellers(2) == ["tee", "tent"]
    recs = model.recommend(["tent"], 3)
    assert recs[0] == "stakes"
    assert "tent" not in recs
    assert model.recommend(["boots"], 1) == ["socks"]
    everything = [p.id for p in CATALOG]
    assert model.recommend(everything, 5) == []


def test_without_history_the_list_is_the_best_sellers_and_views_count() -> None:
    model = Recommender(CATALOG, _purchases())
    assert model.recommend([], 2) == ["tee", "tent"]
    assert set(model.recommend([], 2, viewed=["boots"])) == {"boots", "socks"}
    assert model.recommend(["unknown-product"], 1) == ["tee"]


def test_step_stage_follows_the_journey() -> None:
    steps = [
        JourneyStep(id="s1", channel=Channel.EMAIL, content_brief="a"),
        JourneyStep(id="s2", channel=Channel.EMAIL, delay_hours=48, content_brief="b"),
        JourneyStep(id="s3", channel=Channel.SMS, delay_hours=96, content_brief="c"),
    ]
    assert [step_stage(s, steps) for s in steps] == ["first", "reminder", "last_chance"]
    assert [step_stage(s, steps[:2]) for s in steps[:2]] == ["first", "reminder"]
    assert step_stage(steps[1]) == "reminder"
    assert step_stage(steps[0]) == "first"
