"""Explicit requests for a person are recognized; mentions of people that are not requests
are not."""

from __future__ import annotations

import pytest

from handoff.person_request import PATTERNS, asks_for_person, find_person_request

REQUESTS = [
    "can I talk to a human?",
    "Can I talk to a human?",
    "agent please",
    "Agent please!!",
    "I want to talk to a person",
    "speak to a representative",
    "real person",
    "a real person please",
    "connect me to someone",
    "transfer me to an operator",
    "customer service please",
    "can I talk to customer service?",
    "human!",
    "HUMAN",
    "operator",
    "I'd like to speak with a live agent",
    "Let me speak to your manager",
    "I need a human, this bot is useless",
    "get me a real person",
    "is there a human I can talk to?",
    "put me through to someone from customer support",
    "could you pass this on to a human",
    "please escalate this",
    "No, I want to talk to a person",
    "I don\u2019t want the bot, I want to talk to a human",
    "this is useless. talk to agent",
    "can I talk to a humna",
]

NOT_REQUESTS = [
    "are you a bot?",
    "my agent said the parcel is late",
    "I already talked to someone yesterday",
    "the person at the store was rude",
    "how do I add a person to my account",
    "real estate agent",
    "I need a real estate agent",
    "am I talking to a real person?",
    "I don't want to talk to a person, just tell me the opening hours",
    "no need to talk to a human, thanks",
    "what are your opening hours",
    "how do I get an agent account",
    "I spoke to a representative last week",
    "can you tell my agent the order is ready",
    "I will talk to someone at my bank",
    "",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_explicit_requests_for_a_person_are_recognized(text: str) -> None:
    assert asks_for_person(text), text


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_mentions_that_are_not_requests_do_not_fire(text: str) -> None:
    assert not asks_for_person(text), find_person_request(text)


@pytest.mark.parametrize(
    ("text", "pattern", "phrase"),
    [
        ("Can I talk to a human?", "talk_to_person", "talk to a human"),
        ("please transfer me to an operator", "connect_to_person", "transfer me to an operator"),
        ("I want a real person", "want_person", "want a real person"),
        ("Agent please", "bare_request", "agent please"),
        ("is there a person available?", "person_available", "is there a person"),
    ],
)
def test_the_result_names_the_pattern_and_the_words(text: str, pattern: str, phrase: str) -> None:
    found = find_person_request(text)
    assert found is not None
    assert (found.pattern, found.phrase) == (pattern, phrase)


def test_every_pattern_is_exercised_by_the_examples() -> None:
    fired = {found.pattern for text in REQUESTS if (found := find_person_request(text))}
    assert fired == set(PATTERNS)
