"""Trigger: the customer explicitly asks for a person. The trigger in
`handoff.person_request` decides (its patterns propose, the classifier guard in
`handoff.ai.guard` confirms); a confirmed request is honored at every level, "AI only"
included. The reason the agent reads quotes the customer's own words."""

from __future__ import annotations

from handoff.person_request import explicit_request
from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "explicit_person_request"
REASON = "the customer asked for a person"
QUOTE_CHARS = 160


def quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"“{text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + '…'}”"


def check(inp: PolicyInput) -> RuleResult:
    decision = explicit_request(inp.text)
    if decision.proposal is None:
        return RuleResult(NAME, False, "no request for a person")
    asked = f"{decision.proposal.phrase!r} ({decision.proposal.pattern})"
    if not decision.asked:
        return RuleResult(
            NAME, False, f"{asked} was not confirmed by the guard (score {decision.score:.2f})"
        )
    return RuleResult(
        NAME,
        True,
        f"asked for a person: {asked}, confirmed by the guard (score {decision.score:.2f})",
        outcome=Outcome.QUEUED,
        reason=f"{REASON}: {quoted(inp.text)}",
    )


RULE = Rule(
    NAME, Kind.TRIGGER, Phase.MESSAGE, check, "explicit request for a person, once confirmed"
)
