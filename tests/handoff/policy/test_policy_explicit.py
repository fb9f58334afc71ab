"""The explicit-request rule: the patterns propose, the classifier guard confirms, and a
confirmed request is honored at every level."""

from __future__ import annotations

import pytest

from handoff.policy.base import Outcome
from handoff.policy.rules import explicit_request
from handoff.policy.table import decide
from tests.support.policy import policy_input

LEVELS = ("ai_only", "quick", "balanced", "ai_first")

# (text, fired, words in the detail)
CASES = [
    ("I want to talk to a person", True, "'talk to a person' (talk_to_person), confirmed"),
    ("agent please", True, "(bare_request), confirmed by the guard"),
    ("can I talk to a human please?", True, "confirmed by the guard (score "),
    ("escalate the shipping delay to your warehouse", False, "was not confirmed by the guard"),
    ("How long does shipping take?", False, "no request for a person"),
    ("my agent said the parcel is late", False, "no request for a person"),
]


@pytest.mark.parametrize(("text", "fired", "detail"), CASES, ids=[case[0] for case in CASES])
def test_the_guard_confirms_what_the_patterns_propose(text: str, fired: bool, detail: str) -> None:
    result = explicit_request.check(policy_input(text))

    assert result.rule == "explicit_person_request"
    assert result.fired is fired, result.detail
    assert detail in result.detail
    assert result.outcome is (Outcome.QUEUED if fired else None)


@pytest.mark.parametrize("level", LEVELS)
def test_a_confirmed_request_is_honored_at_every_level(level: str) -> None:
    decision = decide(policy_input("I want to talk to a person", level=level))

    assert (decision.outcome, decision.fired_rule) == (Outcome.QUEUED, "explicit_person_request")
    assert decision.reason == "the customer asked for a person: “I want to talk to a person”"


def test_an_unconfirmed_proposal_does_not_hand_off() -> None:
    decision = decide(policy_input("escalate the shipping delay to your warehouse"))

    assert decision.outcome is Outcome.AI
    [result] = [r for r in decision.rule_results() if r["rule"] == "explicit_person_request"]
    assert result["fired"] is False and "score" in result["detail"]
