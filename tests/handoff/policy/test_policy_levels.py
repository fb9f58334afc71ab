"""Every handoff level against the same customer situations, table-driven: which outcome
the whole table reaches and which rule decided it. An explicit request that the guard
confirms is honored at every level, "AI only" included."""

from __future__ import annotations

from typing import Any

import pytest

from handoff.ai.responder import ResponderReply
from handoff.policy.base import Outcome
from handoff.policy.levels import PRESETS, Level
from handoff.policy.table import decide
from tests.support.policy import DONT_KNOW, KNOWS, policy_input

KEYWORDS = {"handoff_keywords": ["warranty claim"]}
WANTS_HUMAN = ResponderReply("One moment.", 1.0, knows=True, wants_human=True)
LEVELS = ("ai_only", "quick", "balanced", "ai_first")
AI, QUEUED, GATHER = Outcome.AI, Outcome.QUEUED, Outcome.GATHER

# situation: (text, extra facts, {level: (outcome, deciding rule)})
SITUATIONS: dict[str, tuple[str, dict[str, Any], dict[str, tuple[Outcome, str | None]]]] = {
    "a routine question": (
        "How long does shipping take?",
        {},
        {level: (AI, None) for level in LEVELS},
    ),
    "an explicit request": (
        "I want to talk to a person",
        {},
        {level: (QUEUED, "explicit_person_request") for level in LEVELS},
    ),
    "an organization keyword": (
        "I have a warranty claim for my blender",
        {"settings": KEYWORDS},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "keywords"),
            "balanced": (QUEUED, "keywords"),
            "ai_first": (GATHER, "keywords"),
        },
    ),
    "a restricted topic": (
        "You charged me twice for the same order",
        {},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "restricted_topic"),
            "balanced": (QUEUED, "restricted_topic"),
            "ai_first": (GATHER, "restricted_topic"),
        },
    ),
    "a restricted topic, fully described": (
        "You charged me twice for order 5521: once on March 2 and again on March 3, both "
        "for 89 euros on my Visa card ending 4417, and I only ordered one blender from you.",
        {},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "restricted_topic"),
            "balanced": (QUEUED, "restricted_topic"),
            "ai_first": (QUEUED, "restricted_topic"),
        },
    ),
    "mild frustration": (
        "still waiting",
        {},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "negative_sentiment"),
            "balanced": (AI, None),
            "ai_first": (AI, None),
        },
    ),
    "anger": (
        "This is terrible, I am furious, worst service ever",
        {},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "negative_sentiment"),
            "balanced": (QUEUED, "negative_sentiment"),
            "ai_first": (GATHER, "negative_sentiment"),
        },
    ),
    "the AI could not answer once": (
        "Do you sell parts for the X200?",
        {"reply": DONT_KNOW},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "low_confidence_streak"),
            "balanced": (AI, None),
            "ai_first": (AI, None),
        },
    ),
    "the AI could not answer twice in a row": (
        "Do you sell parts for the X200?",
        {"reply": DONT_KNOW, "earlier_answers_known": (False, True)},
        {
            "ai_only": (AI, None),
            "quick": (QUEUED, "low_confidence_streak"),
            "balanced": (QUEUED, "low_confidence_streak"),
            "ai_first": (AI, None),
        },
    ),
    "the AI could not answer three times in a row": (
        "Do you sell parts for the X200?",
        {"reply": DONT_KNOW, "earlier_answers_known": (False, False)},
        {level: (QUEUED, "low_confidence_streak") for level in ("quick", "balanced", "ai_first")}
        | {"ai_only": (AI, None)},
    ),
    "the AI answered": (
        "When do you open?",
        {"reply": KNOWS},
        {level: (AI, None) for level in LEVELS},
    ),
    "the AI asks for a person": (
        "my order arrived broken",
        {"reply": WANTS_HUMAN},
        {level: (QUEUED, "ai_decision") for level in ("quick", "balanced", "ai_first")}
        | {"ai_only": (AI, None)},
    ),
    "the AI asks for a person the customer asked for": (
        "can I talk to a human please?",
        {"reply": WANTS_HUMAN},
        {level: (QUEUED, "ai_decision") for level in LEVELS},
    ),
}

CASES = [
    (situation, level, text, facts, *expected[level])
    for situation, (text, facts, expected) in SITUATIONS.items()
    for level in LEVELS
]


@pytest.mark.parametrize(
    ("situation", "level", "text", "facts", "outcome", "rule"),
    CASES,
    ids=[f"{case[0]} @ {case[1]}" for case in CASES],
)
def test_level(
    situation: str,
    level: str,
    text: str,
    facts: dict[str, Any],
    outcome: Outcome,
    rule: str | None,
) -> None:
    decision = decide(policy_input(text, level=level, **facts))

    assert (decision.outcome, decision.fired_rule) == (outcome, rule), decision.rule_results()
    assert decision.level == level
    fired = [hit["rule"] for hit in decision.rule_hits()]
    assert (rule in fired) if rule else fired == []


def test_every_level_is_a_preset_and_has_cases() -> None:
    assert set(PRESETS) == set(Level) == {Level(level) for level in LEVELS}
    assert all(set(expected) == set(LEVELS) for _text, _facts, expected in SITUATIONS.values())


def test_a_channel_can_run_at_its_own_level() -> None:
    settings = {"channel_levels": {"voice": "ai_only"}, **KEYWORDS}
    text = "I have a warranty claim"

    on_chat = decide(policy_input(text, level="quick", settings=settings))
    on_voice = decide(policy_input(text, level="quick", settings=settings, channel="voice"))

    assert (on_chat.level, on_chat.outcome) == ("quick", QUEUED)
    assert (on_voice.level, on_voice.outcome) == ("ai_only", AI)


def test_an_admins_edit_to_a_preset_changes_its_threshold() -> None:
    edited = {"level_presets": {"balanced": {"frustration_threshold": 0.35}}}
    text = "still waiting"

    assert decide(policy_input(text)).outcome is AI
    assert decide(policy_input(text, settings=edited)).fired_rule == "negative_sentiment"
