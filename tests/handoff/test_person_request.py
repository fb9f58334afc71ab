"""The explicit-request trigger: its patterns propose the ways customers really ask (verbs
in any form, contact verbs, weariness with automation, short answers, roles, typos) and
leave alone what stays with the AI; the whole trigger (patterns and guard) decides as the
policy runs it."""

from __future__ import annotations

import pytest

from handoff.person_request import PATTERNS, asks_for_person, explicit_request, find_person_request
from handoff.spelling import correct

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
    # inflected verbs and the words Bitext's customers use
    "need help speaking with somebody",
    "I want help talking with an agent",
    "i dont understand ya i want help talkiing with someone",
    "can you help me contacting an operator?",
    "I don't know how I can talk to a person",
    # contact, reach, get hold of, get through to
    "need to contact somebody",
    "how do I reach a human",
    "how can I get hold of someone",
    "I can't get through to anyone, please put me in touch with a person",
    # weariness with automation, preferences
    "ok I'm done with this bot",
    "stop with the canned replies",
    "I'd prefer to deal with a real person",
    "honestly I'd rather have a human",
    # short answers, in any clause
    "no — a person please",
    "nope. agent",
    "you keep giving me the same answer. human please",
    # a named person or a role
    "could I talk to Maria from billing please",
    "I must speak to the owner",
    "get me a manager now",
    "could a real person take over?",
    "is a human available right now?",
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
    "I don't need a person",
    "who made you?",
    "are you a real person or a bot?",
    "talk to me",
    "talk to me about your return policy",
    "my real estate agent needs a receipt",
    "I already talked to Maria from billing",
    "can someone tell me the return address",
    "can you connect my account to paypal",
    "",
]


@pytest.mark.parametrize("text", REQUESTS)
def test_explicit_requests_for_a_person_are_recognized(text: str) -> None:
    assert find_person_request(text) is not None, text
    assert asks_for_person(text), explicit_request(text)


@pytest.mark.parametrize("text", NOT_REQUESTS)
def test_mentions_that_are_not_requests_do_not_fire(text: str) -> None:
    assert not asks_for_person(text), explicit_request(text)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("humn", "human"),
        ("persn", "person"),
        ("talkiing", "talking"),
        ("tlak", "talk"),
        ("speek", "speak"),
        ("represntative", "representative"),
        ("sombody", "somebody"),
        ("spk", "speak"),
        # short everyday words are left alone
        ("walk", "walk"),
        ("cat", "cat"),
        ("form", "form"),
        ("urgent", "urgent"),
    ],
)
def test_misspelled_key_words_are_read_as_meant(typed: str, meant: str) -> None:
    assert correct(typed) == meant


@pytest.mark.parametrize(
    ("text", "pattern", "phrase"),
    [
        ("Can I talk to a human?", "talk_to_person", "talk to a human"),
        ("please transfer me to an operator", "connect_to_person", "transfer me to an operator"),
        ("I want a real person", "want_person", "want a real person"),
        ("Agent please", "bare_request", "agent please"),
        ("is there a person available?", "person_available", "is there a person"),
        ("I'm done with this robot", "tired_of_automation", "done with this robot"),
        ("how do I reach an agent", "contact_person", "reach an agent"),
        ("have someone call me", "want_person", "have someone call"),
    ],
)
def test_the_result_names_the_pattern_and_the_words(text: str, pattern: str, phrase: str) -> None:
    found = find_person_request(text)
    assert found is not None
    assert (found.pattern, found.phrase) == (pattern, phrase)


def test_every_pattern_is_exercised_by_the_examples() -> None:
    fired = {found.pattern for text in REQUESTS if (found := find_person_request(text))}
    assert fired == set(PATTERNS)
