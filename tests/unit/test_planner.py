"""Planner: brief parsing (offline engine), recipes and plan validation."""

from __future__ import annotations

import pytest

from agents.planner import PlanDraft, PlanError, _validate_plan, draft_plan, parse_brief
from core.models import Audience, Channel, Goal, JourneyStep, Objective
from core.settings import Settings
from tools.llm import LLMClient

CATS = ["outdoor", "apparel", "footwear", "home", "accessories"]


@pytest.fixture
def llm(settings: Settings) -> LLMClient:
    return LLMClient(settings)


def test_winback_brief_becomes_an_objective(llm: LLMClient) -> None:
    res = parse_brief(
        llm,
        "Win back customers who haven't ordered in the last 3 months: 10% off outdoor gear "
        "with code COMEBACK10, by email then SMS. Keep a 20% holdout.",
        categories=CATS,
    )
    assert res.questions == []
    obj = res.objective
    assert obj is not None
    assert obj.goal == Goal.WINBACK
    assert obj.channels == [Channel.EMAIL, Channel.SMS]
    assert obj.offer.kind == "percent_off" and obj.offer.percent == 10
    assert obj.offer.code == "COMEBACK10"
    assert "category:outdoor" in obj.audience_hints
    assert "recency_days_gte:90" in obj.audience_hints
    assert "holdout:0.200" in obj.audience_hints
    assert llm.calls == 1


def test_brief_without_goal_asks_instead_of_guessing(llm: LLMClient) -> None:
    res = parse_brief(llm, "Send something nice to our customers by email", categories=CATS)
    assert res.objective is None
    assert res.questions and "goal" in res.questions[0].lower()


def test_too_short_brief_asks_for_more(llm: LLMClient) -> None:
    res = parse_brief(llm, "sale", categories=CATS)
    assert res.objective is None and res.questions
    assert llm.calls == 0  # nothing to send to an engine


def test_missing_channel_defaults_to_email_and_says_so(llm: LLMClient) -> None:
    res = parse_brief(llm, "Recover abandoned carts from this week", categories=CATS)
    assert res.objective is not None
    assert res.objective.goal == Goal.CART_RECOVERY
    assert res.objective.channels == [Channel.EMAIL]
    assert any("e-mail" in a for a in res.assumptions)


@pytest.mark.parametrize("goal", list(Goal))
def test_every_goal_has_a_recipe_with_holdout_and_follow_up(llm: LLMClient, goal: Goal) -> None:
    obj = Objective(name="t", goal=goal, channels=[Channel.EMAIL, Channel.SMS])
    plan = draft_plan(llm, obj, categories=CATS)
    assert plan.holdout_fraction == pytest.approx(0.10)
    assert [s.id for s in plan.journey] == ["s1", "s2"]
    assert plan.journey[0].channel == Channel.EMAIL and plan.journey[0].delay_hours == 0
    assert plan.journey[1].channel == Channel.SMS
    assert plan.journey[1].condition == "not_converted"
    assert plan.audiences and plan.audiences[0].filters


def test_category_hint_narrows_the_audience(llm: LLMClient) -> None:
    obj = Objective(name="t", goal=Goal.WINBACK, audience_hints=["category:home"])
    plan = draft_plan(llm, obj, categories=CATS)
    feats = {(f.feature, f.op, f.value) for f in plan.audiences[0].filters}
    assert ("favorite_category", "eq", "home") in feats


def test_validation_drops_steps_on_channels_the_brief_did_not_allow() -> None:
    obj = Objective(name="t", goal=Goal.PROMOTION, channels=[Channel.EMAIL])
    draft = PlanDraft(
        audiences=[Audience(name="all")],
        journey=[
            JourneyStep(id="x", channel=Channel.SMS, content_brief="sms"),
            JourneyStep(id="x", channel=Channel.EMAIL, delay_hours=5, content_brief="mail"),
            JourneyStep(id="x", channel=Channel.EMAIL, delay_hours=1, content_brief="first"),
        ],
        rationale="r",
    )
    plan = _validate_plan(obj, draft)
    assert [s.channel for s in plan.journey] == [Channel.EMAIL, Channel.EMAIL]
    assert [s.content_brief for s in plan.journey] == ["first", "mail"]  # sorted by delay
    assert len({s.id for s in plan.journey}) == 2  # duplicate ids repaired


def test_validation_rejects_a_journey_with_no_allowed_channel() -> None:
    obj = Objective(name="t", goal=Goal.PROMOTION, channels=[Channel.EMAIL])
    draft = PlanDraft(
        audiences=[Audience(name="all")],
        journey=[JourneyStep(id="s1", channel=Channel.SMS, content_brief="sms")],
        rationale="r",
    )
    with pytest.raises(PlanError, match="channels"):
        _validate_plan(obj, draft)


def test_a_recurring_brief_gives_a_recurring_objective(llm: LLMClient) -> None:
    parsed = parse_brief(llm, "Run a promotion every Friday at 5pm by email", categories=[])
    assert parsed.objective is not None
    rec = parsed.objective.recurrence
    assert rec is not None and (rec.every, rec.weekday, rec.hour_local) == ("week", 4, 17)
    once = parse_brief(llm, "Run a promotion by email this week", categories=[])
    assert once.objective is not None and once.objective.recurrence is None


def test_a_cart_brief_about_people_who_leave_gives_an_entry_trigger(llm: LLMClient) -> None:
    parsed = parse_brief(
        llm, "Remind people who leave something in their cart within 2 hours", categories=[]
    )
    assert parsed.objective is not None and parsed.objective.goal == Goal.CART_RECOVERY
    trig = parsed.objective.trigger
    assert trig is not None
    assert (trig.event, trig.unless_event, trig.wait_hours, trig.reentry_days) == (
        "Product Added",
        "Order Completed",
        2,
        30,
    )
    one_off = parse_brief(llm, "Recover abandoned carts with free shipping by email", categories=[])
    assert one_off.objective is not None and one_off.objective.trigger is None

    both = parse_brief(llm, "Every Monday, remind people who abandon their cart", categories=[])
    assert both.objective is not None
    assert both.objective.trigger is not None and both.objective.recurrence is not None
    with pytest.raises(PlanError, match="not both"):
        draft_plan(llm, both.objective, categories=[])
