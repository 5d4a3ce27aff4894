"""The response simulator: deterministic, honest about holdouts, and responsive to fit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.models import Channel, Outcome, OutcomeKind, Product
from tools.audience import split_holdout
from tools.sandbox.sample_world import ANGLES, CATEGORIES, latent_for
from tools.sandbox.simulator import ResponseSimulator, SimMessage

SEED = 7
NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
PRODUCTS = {
    f"p{i}": Product(
        id=f"p{i}",
        name=f"Item {i}",
        category=CATEGORIES[i % len(CATEGORIES)],
        price=20.0 + 10 * i,
        url=f"https://northwind.example/p/p{i}",
    )
    for i in range(10)
}


def _msg(cid: str, angle: str = "value", *, k: int = 0, **kw: object) -> SimMessage:
    values: dict[str, object] = {
        "message_id": f"m_{cid}_{k}",
        "customer_id": cid,
        "channel": Channel.EMAIL,
        "angle": angle,
        "offer_percent": 10.0,
        "product_id": None,
        "category": None,
        "local_hour": 10,
        "sent_at": NOW + timedelta(hours=k * 48),
    }
    values.update(kw)
    return SimMessage.model_validate(values)


def _converted(outcomes: list[Outcome], ids: set[str]) -> float:
    conv = {o.customer_id for o in outcomes if o.kind == OutcomeKind.CONVERTED}
    return len(conv & ids) / len(ids)


def test_same_inputs_same_outcomes_and_campaign_matters() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 801)]
    assigned = [(c, "treated") for c in ids]
    sent = [_msg(c) for c in ids]
    a = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_a", assigned=assigned, sent=sent, as_of=NOW
    )
    b = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_a", assigned=assigned, sent=sent, as_of=NOW
    )
    c = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_b", assigned=assigned, sent=sent, as_of=NOW
    )
    assert a == b
    assert a != c
    assert any(o.kind == OutcomeKind.CONVERTED for o in a)


def test_holdout_gets_only_organic_conversions() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 5001)]
    out = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_h", assigned=[(c, "holdout") for c in ids], sent=[], as_of=NOW
    )
    assert out, "some holdout members buy on their own"
    assert {o.kind for o in out} == {OutcomeKind.CONVERTED}
    assert all(o.message_id is None for o in out)
    assert all(o.value > 0 for o in out)
    assert all(NOW <= o.at <= NOW + timedelta(days=14) for o in out)
    assert 0.01 < len(out) / len(ids) < 0.06  # organic baseline around 3 %


def test_message_to_holdout_member_is_refused() -> None:
    sim = ResponseSimulator(seed=SEED, products=PRODUCTS)
    with pytest.raises(ValueError, match="holdout"):
        sim.simulate(
            "cmp", assigned=[("cus_000001", "holdout")], sent=[_msg("cus_000001")], as_of=NOW
        )


def test_treated_convert_more_than_holdout_by_a_few_points() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 20_001)]
    treated, holdout = split_holdout("cmp_lift", ids, 0.1)
    assigned = [(c, "treated") for c in treated] + [(c, "holdout") for c in holdout]
    out = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_lift", assigned=assigned, sent=[_msg(c) for c in treated], as_of=NOW
    )
    t_rate, h_rate = _converted(out, set(treated)), _converted(out, set(holdout))
    assert 0.015 < h_rate < 0.05
    assert 0.02 < t_rate - h_rate < 0.10
    # Outcomes of treated people come after their message; nothing before the send.
    sent_at = NOW
    assert all(o.at >= sent_at for o in out)
    kinds = {o.kind for o in out}
    assert {OutcomeKind.DELIVERED, OutcomeKind.OPENED, OutcomeKind.CLICKED} <= kinds


def test_better_matched_angle_converts_more() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 12_001)]
    best, worst = [], []
    for c in ids:
        aff = latent_for(c, SEED).angle_affinity
        ranked = sorted(ANGLES, key=lambda a: aff[a])
        best.append(_msg(c, ranked[-1]))
        worst.append(_msg(c, ranked[0]))
    sim = ResponseSimulator(seed=SEED, products=PRODUCTS)
    assigned = [(c, "treated") for c in ids]
    good = sim.simulate("cmp_angle", assigned=assigned, sent=best, as_of=NOW)
    bad = sim.simulate("cmp_angle", assigned=assigned, sent=worst, as_of=NOW)
    assert _converted(good, set(ids)) > _converted(bad, set(ids)) + 0.01


def test_no_outcome_before_send_and_within_horizon() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 3001)]
    later = NOW + timedelta(days=3)
    sent = [_msg(c, k=0, sent_at=later) for c in ids] + [
        _msg(c, k=1, sent_at=later + timedelta(days=2), channel=Channel.SMS) for c in ids
    ]
    by_id = {m.message_id: m for m in sent}
    out = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_t", assigned=[(c, "treated") for c in ids], sent=sent, as_of=NOW, horizon_days=5
    )
    attributed = [o for o in out if o.message_id is not None]
    assert attributed
    for o in attributed:
        assert o.message_id is not None
        m = by_id[o.message_id]
        assert m.sent_at <= o.at <= m.sent_at + timedelta(days=5)
    # At most one conversion per person, and conversions carry revenue.
    conv = [o for o in out if o.kind == OutcomeKind.CONVERTED]
    assert len({o.customer_id for o in conv}) == len(conv)
    assert all(o.value > 0 for o in conv)


def test_discount_lowers_revenue_of_a_known_product() -> None:
    ids = [f"cus_{i:06d}" for i in range(1, 6001)]
    sent = [_msg(c, product_id="p3", offer_percent=20.0) for c in ids]
    out = ResponseSimulator(seed=SEED, products=PRODUCTS).simulate(
        "cmp_p", assigned=[(c, "treated") for c in ids], sent=sent, as_of=NOW
    )
    via_message = [o for o in out if o.kind == OutcomeKind.CONVERTED and o.message_id]
    assert via_message
    assert {o.value for o in via_message} == {round(PRODUCTS["p3"].price * 0.8, 2)}
