"""Stored settings as the policy reads them: levels per channel, edited presets, and a
value edited by hand into something unusable, which falls back to its default (logged)
instead of stopping messages from being routed."""

from __future__ import annotations

import logging

import pytest

from gateway.org_settings import OrganizationSettings
from handoff.policy.config import QUEUE_WITH_NOTICE, policy_settings
from handoff.policy.levels import PRESETS, Level, validate_overrides
from handoff.policy.topics import BUILTIN, phrase_pattern


def read(**stored: object) -> OrganizationSettings:
    return OrganizationSettings.from_json(stored)


def test_defaults_are_balanced_always_open_and_queue_with_notice() -> None:
    settings = policy_settings(read(), "webchat")

    assert settings.level is Level.BALANCED and settings.preset == PRESETS[Level.BALANCED]
    assert settings.schedule.always_open and settings.outside_hours == QUEUE_WITH_NOTICE
    assert [topic.name for topic in settings.topics] == [
        "billing_dispute",
        "cancellation",
        "legal",
        "privacy",
    ]


@pytest.mark.parametrize(
    ("stored", "what"),
    [
        ({"handoff_level": "eager"}, "handoff level"),
        ({"level_presets": {"quick": {"gather_words": -1}}}, "level presets"),
        ({"restricted_topics": ["weather"]}, "restricted topics"),
        ({"time_zone": "Nowhere/Land"}, "business hours"),
        ({"outside_hours": "panic"}, "outside_hours"),
    ],
)
def test_an_unusable_stored_value_falls_back_and_is_logged(
    stored: dict[str, object], what: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        settings = policy_settings(read(**stored), "webchat")

    assert settings.level in Level
    assert f"unusable {what}" in caplog.text


def test_preset_edits_are_checked_per_value() -> None:
    assert validate_overrides({"quick": {"low_confidence_streak": None}}) == {
        "quick": {"low_confidence_streak": None}
    }
    with pytest.raises(ValueError, match=r"level_presets\.quick: keywords must be true or false"):
        validate_overrides({"quick": {"keywords": "yes"}})


@pytest.mark.parametrize(
    ("topic", "text", "found"),
    [
        ("cancellation", "how do I cancel?", "cancel"),
        ("cancellation", "please close my account", "close my account"),
        ("cancellation", "I love this candle", None),
        ("billing_dispute", "I was double charged", "double charged"),
        ("billing_dispute", "I want to file a chargeback", "chargeback"),
        ("billing_dispute", "what does shipping cost?", None),
        ("legal", "I will sue you", "sue you"),
        ("legal", "my friend sue recommended you", None),
        ("privacy", "what personal data do you hold about me", "what personal data do you hold"),
        ("complaint", "I want to file a formal complaint", "file a formal complaint"),
    ],
)
def test_builtin_topics(topic: str, text: str, found: str | None) -> None:
    assert BUILTIN[topic].find(text) == found


def test_phrases_match_whole_words_in_any_case_and_spacing() -> None:
    pattern = phrase_pattern(["Warranty Claim", "it\u2019s broken"])

    assert pattern is not None
    assert pattern.search("a warranty   claim") is not None
    assert pattern.search("it's broken again") is not None
    assert pattern.search("warranty claims") is None
    assert phrase_pattern(["  "]) is None


@pytest.mark.parametrize(
    ("vader", "frustration"),
    [(-0.25, 0.3), (-0.6, 0.5), (-0.75, 0.7), (-1.0, 0.9), (0.0, 0.2), (-0.5, 0.443), (None, None)],
)
def test_a_tone_threshold_saved_on_the_old_vader_scale_keeps_its_meaning(
    vader: float | None, frustration: float | None
) -> None:
    """Edits saved before the frustration model (VADER, -1..0, lower = angrier) become the
    frustration threshold that sits where they sat between the levels' defaults."""
    assert validate_overrides({"quick": {"sentiment_threshold": vader}}) == {
        "quick": {"frustration_threshold": frustration}
    }
    with pytest.raises(ValueError, match="sentiment_threshold must be between -1 and 0"):
        validate_overrides({"quick": {"sentiment_threshold": 0.5}})
