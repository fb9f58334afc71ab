"""Gate: a contact who opted out of messages (STOP) gets no reply at all, from the AI or
a notice."""

from __future__ import annotations

from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "opted_out"


def check(inp: PolicyInput) -> RuleResult:
    if not inp.opted_out:
        return RuleResult(NAME, False, "the contact accepts messages")
    return RuleResult(
        NAME, True, "the contact opted out of messages: no reply", outcome=Outcome.OPTED_OUT
    )


RULE = Rule(NAME, Kind.GATE, Phase.MESSAGE, check, "opted-out contact: no reply")
