"""Every rule of the handoff policy, table-driven: for each rule, inputs where it fires and
inputs where it does not, with what its result says. Rules are pure, so no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from handoff.ai.responder import ResponderReply
from handoff.policy.base import Outcome, PolicyInput
from handoff.policy.rules import (
    ai_decision,
    business_hours,
    details_gathered,
    human_owned,
    keywords,
    low_confidence,
    negative_sentiment,
    nobody_online,
    opted_out,
    restricted_topic,
)
from handoff.policy.table import RULES
from tests.support.policy import DONT_KNOW, KNOWS, NOW, policy_input

WANTS_HUMAN = ResponderReply(
    "Let me get a colleague.", 1.0, knows=True, wants_human=True, handoff_reason="refund"
)
WEEKDAYS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
BERLIN = {"business_hours": WEEKDAYS, "time_zone": "Europe/Berlin"}

# (rule module, case name, input, fired, outcome, words in the detail)
CASES: list[tuple[object, str, PolicyInput, bool, Outcome | None, str]] = [
    (opted_out, "accepts", policy_input(), False, None, "accepts messages"),
    (opted_out, "stopped", policy_input(opted_out=True), True, Outcome.OPTED_OUT, "opted out"),
    (human_owned, "ai owns", policy_input(), False, None, "AI owns"),
    (human_owned, "queued", policy_input(state="queued"), True, Outcome.HUMAN_OWNED, "queue"),
    (human_owned, "assigned", policy_input(state="assigned"), True, Outcome.HUMAN_OWNED, "agent"),
    (
        human_owned,
        "review window",
        policy_input(state="manual", ai_paused_until=NOW + timedelta(minutes=5)),
        True,
        Outcome.HUMAN_OWNED,
        "review window is open until 2026-03-04 10:05 UTC",
    ),
    (details_gathered, "nothing waiting", policy_input(), False, None, "no handoff waiting"),
    (
        details_gathered,
        "after gathering",
        policy_input(previous_outcome="gather-details", previous_rule="restricted_topic"),
        True,
        Outcome.QUEUED,
        "first: restricted_topic",
    ),
    (
        details_gathered,
        "after an AI answer",
        policy_input(previous_outcome="ai"),
        False,
        None,
        "no handoff waiting",
    ),
    (
        keywords,
        "phrase, any case and spacing",
        policy_input(
            "I have a WARRANTY   claim", settings={"handoff_keywords": ["warranty claim"]}
        ),
        True,
        Outcome.QUEUED,
        "'warranty claim'",
    ),
    (
        keywords,
        "whole words only",
        policy_input("Is my refunded amount final?", settings={"handoff_keywords": ["refund"]}),
        False,
        None,
        "no keyword",
    ),
    (keywords, "none set", policy_input("warranty claim"), False, None, "no keywords"),
    (
        keywords,
        "off at ai_only",
        policy_input("warranty", level="ai_only", settings={"handoff_keywords": ["warranty"]}),
        False,
        None,
        "off at level ai_only",
    ),
    (
        restricted_topic,
        "billing dispute",
        policy_input("You charged me twice for one order"),
        True,
        Outcome.QUEUED,
        "billing_dispute: 'charged me twice'",
    ),
    (
        restricted_topic,
        "cancellation",
        policy_input("I want to cancel my subscription"),
        True,
        Outcome.QUEUED,
        "cancellation",
    ),
    (
        restricted_topic,
        "legal",
        policy_input("My lawyer will hear about this"),
        True,
        Outcome.QUEUED,
        "legal",
    ),
    (
        restricted_topic,
        "privacy",
        policy_input("Please delete my data under GDPR"),
        True,
        Outcome.QUEUED,
        "privacy",
    ),
    (
        restricted_topic,
        "not on the organization's list",
        policy_input("My lawyer will hear about this", settings={"restricted_topics": []}),
        False,
        None,
        "no restricted topic",
    ),
    (
        restricted_topic,
        "custom topic",
        policy_input(
            "The battery is swollen",
            settings={
                "restricted_topics": ["safety"],
                "custom_topics": {"safety": ["swollen", "smoke", "fire"]},
            },
        ),
        True,
        Outcome.QUEUED,
        "safety: 'swollen'",
    ),
    (
        restricted_topic,
        "ordinary question",
        policy_input("How long does shipping take?"),
        False,
        None,
        "no restricted topic",
    ),
    (
        negative_sentiment,
        "angry at balanced",
        policy_input("This is terrible, I am furious, worst service ever"),
        True,
        Outcome.QUEUED,
        "threshold 0.50",
    ),
    (
        negative_sentiment,
        "mildly annoyed at balanced",
        policy_input("still waiting"),
        False,
        None,
        "latest 0.40",
    ),
    (
        negative_sentiment,
        "mildly annoyed at quick",
        policy_input("still waiting", level="quick"),
        True,
        Outcome.QUEUED,
        "threshold 0.30",
    ),
    (
        negative_sentiment,
        "a sour run outweighs a calm last message",
        policy_input(
            "ok. where is it?",
            level="quick",
            history=("This is terrible and useless", "I am furious, worst service ever"),
        ),
        True,
        Outcome.QUEUED,
        "latest 0.15",
    ),
    (
        negative_sentiment,
        "off at ai_only",
        policy_input("This is terrible, I am furious", level="ai_only"),
        False,
        None,
        "off at level ai_only",
    ),
    (
        negative_sentiment,
        "gathers first at ai_first",
        policy_input("This is terrible, I am furious, worst service ever", level="ai_first"),
        True,
        Outcome.GATHER,
        "asking for the whole problem first (9 of 25 words)",
    ),
    (low_confidence, "answered", policy_input(reply=KNOWS), False, None, "the AI answered"),
    (
        low_confidence,
        "first miss at balanced",
        policy_input(reply=DONT_KNOW),
        False,
        None,
        "could not answer 1 question;",
    ),
    (
        low_confidence,
        "second miss at balanced",
        policy_input(reply=DONT_KNOW, earlier_answers_known=(False, True)),
        True,
        Outcome.QUEUED,
        "the AI could not answer 2 questions in a row; it calls a person after 2 questions",
    ),
    (
        low_confidence,
        "a known answer breaks the streak",
        policy_input(reply=DONT_KNOW, earlier_answers_known=(True, False)),
        False,
        None,
        "could not answer 1 question;",
    ),
    (
        low_confidence,
        "off at ai_only",
        policy_input(level="ai_only", reply=DONT_KNOW, earlier_answers_known=(False,) * 5),
        False,
        None,
        "off at level ai_only",
    ),
    (ai_decision, "no signal", policy_input(reply=KNOWS), False, None, "did not ask"),
    (
        ai_decision,
        "honored",
        policy_input("my order arrived broken", reply=WANTS_HUMAN),
        True,
        Outcome.QUEUED,
        "the AI asked for a person",
    ),
    (
        ai_decision,
        "the reply's words are not a signal",
        policy_input(reply=ResponderReply("I'll connect you to a person.", 1.0, knows=True)),
        False,
        None,
        "did not ask",
    ),
    (
        ai_decision,
        "unconfirmed at ai_only",
        policy_input("my order arrived broken", level="ai_only", reply=WANTS_HUMAN),
        False,
        None,
        "the guard found no request",
    ),
    (
        ai_decision,
        "confirmed at ai_only",
        policy_input("can I talk to a human please?", level="ai_only", reply=WANTS_HUMAN),
        True,
        Outcome.QUEUED,
        "confirmed by the guard",
    ),
    (
        ai_decision,
        "ignored when the admins say so",
        policy_input(
            reply=WANTS_HUMAN, settings={"level_presets": {"balanced": {"ai_decision": "ignored"}}}
        ),
        False,
        None,
        "ignored at balanced",
    ),
    (business_hours, "always open", policy_input(), False, None, "within business hours"),
    (
        business_hours,
        "open in Berlin",
        policy_input(settings=BERLIN),
        False,
        None,
        "within business hours",
    ),
    (
        business_hours,
        "closed: queue with an honest notice",
        policy_input(settings=BERLIN, now=NOW.replace(hour=18)),
        True,
        Outcome.QUEUED,
        "closed until tomorrow at 09:00 (Europe/Berlin time): queued with a notice",
    ),
    (
        business_hours,
        "closed: the AI takes a message",
        policy_input(
            settings={**BERLIN, "outside_hours": "ai_takes_message"}, now=NOW.replace(hour=18)
        ),
        True,
        Outcome.TAKE_MESSAGE,
        "the AI takes a message",
    ),
    (nobody_online, "someone online", policy_input(), False, None, "1 agent is online"),
    (
        nobody_online,
        "nobody: queue with an honest notice",
        policy_input(online_agents=0),
        True,
        Outcome.QUEUED,
        "queued with a notice",
    ),
    (
        nobody_online,
        "nobody: the AI takes a message",
        policy_input(online_agents=0, settings={"outside_hours": "ai_takes_message"}),
        True,
        Outcome.TAKE_MESSAGE,
        "the AI takes a message",
    ),
    (
        nobody_online,
        "nobody on the desk, but the channel rings phones",
        policy_input(
            online_agents=0,
            settings={"outside_hours": "ai_takes_message"},
            staffed_without_desk="the call's transfer targets are rung",
        ),
        False,
        None,
        "no agent online, but the call's transfer targets are rung",
    ),
]


@pytest.mark.parametrize(
    ("rule", "case", "inp", "fired", "outcome", "detail"),
    CASES,
    ids=[f"{case[0].NAME}: {case[1]}" for case in CASES],  # type: ignore[attr-defined]
)
def test_rule(
    rule: object,
    case: str,
    inp: PolicyInput,
    fired: bool,
    outcome: Outcome | None,
    detail: str,
) -> None:
    result = rule.RULE.check(inp)  # type: ignore[attr-defined]

    assert result.rule == rule.NAME  # type: ignore[attr-defined]
    assert (result.fired, result.outcome) == (fired, outcome), result.detail
    assert detail in result.detail


def test_every_rule_in_the_table_has_cases() -> None:
    covered = {case[0].NAME for case in CASES}  # type: ignore[attr-defined]
    covered.add("explicit_person_request")  # tests/handoff/policy/test_policy_explicit.py
    assert {rule.name for rule in RULES} == covered


def test_the_after_hours_notice_says_when_someone_will_answer() -> None:
    friday_evening = NOW.replace(day=6, hour=19)  # Friday 20:00 in Berlin
    result = business_hours.check(policy_input(settings=BERLIN, now=friday_evening))

    assert result.values["next_opening"] == "Monday at 09:00 (Europe/Berlin time)"
    assert "back Monday at 09:00" in result.values["wait"]
    assert result.back_at is not None and result.back_at.isoformat() == "2026-03-09T09:00:00+01:00"


def test_the_tone_covers_only_the_window_of_recent_messages() -> None:
    angry_then_calm = ("This is terrible, I am furious", "ok", "fine", "where is it?")
    inp = policy_input("thanks", history=angry_then_calm)
    narrow = replace(
        inp,
        settings=replace(inp.settings, preset=replace(inp.settings.preset, sentiment_window=2)),
    )

    assert not negative_sentiment.check(narrow).fired
