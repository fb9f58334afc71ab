"""Trigger: the customer explicitly asks for a person. The pattern trigger
(`handoff.person_request`) proposes, the classifier guard (`handoff.ai.guard`) confirms; a
confirmed request is honored at every level, "AI only" included."""

from __future__ import annotations

from handoff.ai.guard import confirm_person_request
from handoff.person_request import find_person_request
from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "explicit_person_request"
REASON = "the customer asked for a person"


def check(inp: PolicyInput) -> RuleResult:
    proposal = find_person_request(inp.text)
    if proposal is None:
        return RuleResult(NAME, False, "no request for a person")
    guard = confirm_person_request(inp.text)
    asked = f"{proposal.phrase!r} ({proposal.pattern})"
    if not guard.wants_person:
        return RuleResult(
            NAME, False, f"{asked} was not confirmed by the guard (score {guard.score:.2f})"
        )
    return RuleResult(
        NAME,
        True,
        f"asked for a person: {asked}, confirmed by the guard (score {guard.score:.2f})",
        outcome=Outcome.QUEUED,
        reason=REASON,
    )


RULE = Rule(
    NAME, Kind.TRIGGER, Phase.MESSAGE, check, "explicit request for a person, once confirmed"
)
