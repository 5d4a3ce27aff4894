"""Change requests in a draft, read by the offline engine: channels, the offer, leaving out
recent buyers; what it cannot read changes nothing and says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.planner import (
    FollowUp,
    _offline_read,
    apply_change,
    draft_plan,
    language_words,
    read_language,
)
from core.models import Channel, Goal, Objective, Offer
from core.settings import Settings
from tools.llm import LLMClient

BRIEF = (
    "Win back customers who haven't ordered in 3 months with 10% off, code COMEBACK10, by "
    "email, then an SMS reminder."
)
NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)


def _objective() -> Objective:
    return Objective(
        name="Winback",
        goal=Goal.WINBACK,
        channels=[Channel.EMAIL, Channel.SMS],
        offer=Offer(kind="percent_off", percent=10, code="COMEBACK10"),
    )


@pytest.mark.parametrize(
    ("change", "channels"),
    [
        ("SMS only", [Channel.SMS]),
        ("only by e-mail please", [Channel.EMAIL]),
        ("just email", [Channel.EMAIL]),
        ("no sms", [Channel.EMAIL]),
        ("drop the email", [Channel.SMS]),
        ("add a push notification", [Channel.EMAIL, Channel.SMS, Channel.PUSH]),
    ],
)
def test_channel_changes(change: str, channels: list[Channel]) -> None:
    obj, notes = apply_change(_objective(), change)
    assert obj.channels == channels and notes and notes[0].startswith("Change:")
    assert obj.offer.percent == 10  # nothing else moved


def test_offer_changes() -> None:
    dropped, notes = apply_change(_objective(), "Drop the discount")
    assert dropped.offer == Offer() and "dropped" in notes[0]
    assert apply_change(dropped, "no discount")[1] == ["No change: there was no offer to drop."]
    bigger, _ = apply_change(_objective(), "make it 20% off")
    assert bigger.offer.percent == 20 and bigger.offer.code == "COMEBACK10"
    coded, _ = apply_change(_objective(), "use code spring25 instead")
    assert coded.offer.code == "SPRING25" and coded.offer.percent == 10


@pytest.mark.parametrize(
    ("change", "days"),
    [
        ("exclude people who bought in the last week", 7),
        ("Leave out anyone who ordered in the past 2 weeks.", 14),
        ("don't send to customers who bought in the last 10 days", 10),
        ("skip buyers from the last month", 30),
    ],
)
def test_leaving_out_recent_buyers(change: str, days: int, settings: Settings) -> None:
    obj, notes = apply_change(_objective(), change)
    assert f"exclude_bought_days:{days}" in obj.audience_hints
    assert notes == [f"Change: people who ordered in the last {days} days are left out."]
    plan = draft_plan(LLMClient(settings), obj, categories=[])
    assert plan.audiences[0].exclusions[0].model_dump() == {
        "feature": "recency_days",
        "op": "lte",
        "value": float(days),
    }
    assert plan.audiences[0].filters  # the goal's own audience is kept


def test_a_change_it_cannot_read_changes_nothing_and_says_so() -> None:
    obj, notes = apply_change(_objective(), "make it sound more playful")
    assert obj == _objective() and notes == []
    change = FollowUp(kind="change", text="make it sound more playful")
    parsed = _offline_read(BRIEF, [change], [], NOW, [])
    assert parsed.objective is not None and parsed.objective.channels == [
        Channel.EMAIL,
        Channel.SMS,
    ]
    assert any(
        a.startswith("Not applied: “make it sound more playful”") for a in parsed.assumptions
    )


def test_follow_ups_apply_in_order_and_answers_complete_the_brief() -> None:
    parsed = _offline_read(
        "send some email to people",
        [
            FollowUp(kind="answer", text="Win back lapsed customers with 15% off, code BACK15."),
            FollowUp(kind="change", text="SMS only"),
            FollowUp(kind="change", text="add an email"),
            FollowUp(kind="change", text="drop the discount"),
        ],
        [],
        NOW,
        [],
    )
    assert parsed.objective is not None and parsed.objective.goal == Goal.WINBACK
    assert parsed.objective.channels == [Channel.SMS, Channel.EMAIL]
    assert parsed.objective.offer.kind == "none"


@pytest.mark.parametrize(
    ("change", "language"),
    [
        ("make it German", "de"),
        ("auf Deutsch bitte", "de"),
        ("send it in French only", "fr"),
        ("only in French", "fr"),
        ("en français", "fr"),
        ("Japanese copy please", "ja"),
        ("translate it into Portuguese", "pt"),
        ("in English", "en"),
    ],
)
def test_language_changes(change: str, language: str) -> None:
    obj, notes = apply_change(_objective(), change)
    assert obj.language == language and notes[0].startswith("Change: every message in")
    assert obj.channels == _objective().channels and obj.offer == _objective().offer


@pytest.mark.parametrize(
    "change",
    ["in the customer's own language", "in each person's own language", "in ihrer Sprache"],
)
def test_back_to_each_persons_own_language(change: str) -> None:
    german = _objective().model_copy(update={"language": "de"})
    obj, notes = apply_change(german, change)
    assert obj.language is None and notes[0].startswith("Change: each person gets")
    assert apply_change(obj, change) == (obj, [notes_no_change(None)])


def notes_no_change(code: str | None) -> str:
    return f"No change: the copy language is already {language_words(code)}."


@pytest.mark.parametrize(
    "change", ["send it to German customers", "only customers in Germany", "a French press"]
)
def test_naming_a_country_or_its_people_is_not_a_language_change(change: str) -> None:
    assert read_language(change) == (False, None)
