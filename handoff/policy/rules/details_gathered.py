"""Trigger: the AI asked for the whole problem before handing off (levels that gather
first), and the customer has now answered: the handoff that was put off goes ahead."""

from __future__ import annotations

from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "details_gathered"


def check(inp: PolicyInput) -> RuleResult:
    if inp.previous_outcome != Outcome.GATHER:
        return RuleResult(NAME, False, "no handoff waiting for details")
    first = inp.previous_rule or "an earlier rule"
    return RuleResult(
        NAME,
        True,
        f"the customer described the problem after being asked (first: {first})",
        outcome=Outcome.QUEUED,
        reason=f"the customer described the problem ({first})",
    )


RULE = Rule(NAME, Kind.TRIGGER, Phase.MESSAGE, check, "the problem statement asked for has arrived")
