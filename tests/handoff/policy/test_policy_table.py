"""How the table runs: gates end the decision and the rest is recorded as skipped, every
trigger is recorded, the first one that fired decides, and the business-hours and
presence rules only shape a handoff that was proposed."""

from __future__ import annotations

from handoff.policy.base import Outcome, Phase
from handoff.policy.table import RULES, decide
from tests.support.policy import NOW, policy_input

AFTER_HOURS = {
    "business_hours": {"mon": [["09:00", "17:00"]]},
    "time_zone": "UTC",
}


def test_the_table_is_ordered_gates_then_triggers_then_modifiers() -> None:
    assert [rule.name for rule in RULES] == [
        "opted_out",
        "human_owned",
        "explicit_person_request",
        "details_gathered",
        "keywords",
        "restricted_topic",
        "negative_sentiment",
        "low_confidence_streak",
        "ai_decision",
        "outside_business_hours",
        "nobody_online",
    ]
    assert all(rule.summary for rule in RULES)


def test_a_gate_decides_and_the_rest_is_skipped() -> None:
    decision = decide(policy_input("I want to talk to a person", opted_out=True))

    assert (decision.outcome, decision.fired_rule) == (Outcome.OPTED_OUT, "opted_out")
    results = decision.rule_results()
    assert [r["rule"] for r in results] == [
        rule.name for rule in RULES if rule.applies_to(Phase.MESSAGE)
    ]
    assert results[1:] == [
        {"rule": r["rule"], "fired": False, "detail": "skipped: opted_out decided"}
        for r in results[1:]
    ]


def test_every_trigger_that_fired_is_recorded_and_the_first_decides() -> None:
    decision = decide(
        policy_input(
            "I want to talk to a person, you charged me twice, I am furious, this is terrible!"
        )
    )

    assert decision.fired_rule == "explicit_person_request"
    # the customer's own words lead; the policy's inferences follow, in plain language
    assert decision.reason == (
        "the customer asked for a person: “I want to talk to a person, you charged me twice, "
        "I am furious, this is terrible!”; also the message raises a billing dispute; "
        "also the customer seems upset"
    )
    assert [hit["rule"] for hit in decision.rule_hits()] == [
        "explicit_person_request",
        "restricted_topic",
        "negative_sentiment",
    ]
    assert all(hit["detail"] for hit in decision.rule_hits())


def test_modifiers_are_not_checked_without_a_handoff() -> None:
    decision = decide(policy_input(online_agents=0, settings=AFTER_HOURS))

    assert decision.outcome is Outcome.AI and decision.fired_rule is None
    by_rule = {r["rule"]: r for r in decision.rule_results()}
    assert by_rule["outside_business_hours"]["detail"] == "not checked: nothing to hand off"
    assert by_rule["nobody_online"]["fired"] is False


def test_outside_hours_comes_before_nobody_online() -> None:
    decision = decide(policy_input("agent please", online_agents=0, settings=AFTER_HOURS))

    assert decision.outcome is Outcome.QUEUED
    assert decision.fired_rule == "explicit_person_request"
    assert decision.modified_by is not None
    assert decision.modified_by.rule == "outside_business_hours"
    kind, values = decision.notice
    assert kind == "handoff" and values["next_opening"] == "Monday at 09:00 (UTC time)"
    assert decision.back_at is not None and decision.back_at > NOW
    by_rule = {r["rule"]: r for r in decision.rule_results()}
    assert by_rule["nobody_online"]["detail"] == "skipped: outside_business_hours applies"


def test_the_reply_phase_runs_only_its_rules() -> None:
    from tests.support.policy import DONT_KNOW

    decision = decide(policy_input("agent please", reply=DONT_KNOW, opted_out=True))

    assert decision.phase is Phase.REPLY
    assert [r["rule"] for r in decision.rule_results()] == [
        "low_confidence_streak",
        "ai_decision",
        "outside_business_hours",
        "nobody_online",
    ]
