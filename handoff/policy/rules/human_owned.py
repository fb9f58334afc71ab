"""Gate: while a person owns the conversation (it waits in the queue, an agent has it, or
an agent took manual control and the review window is open) the AI stays silent."""

from __future__ import annotations

from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "human_owned"

_WHY = {
    "queued": "it is waiting in the queue for a person",
    "assigned": "an agent owns it",
    "resolved": "it is resolved",
}


def check(inp: PolicyInput) -> RuleResult:
    if inp.state == "ai":
        return RuleResult(NAME, False, "the AI owns the conversation")
    if inp.state == "manual":
        until = inp.ai_paused_until
        why = "an agent took manual control; the review window is open" + (
            f" until {until:%Y-%m-%d %H:%M} UTC" if until else ""
        )
    else:
        why = _WHY.get(inp.state, f"it is {inp.state}")
    return RuleResult(NAME, True, f"the AI stays silent: {why}", outcome=Outcome.HUMAN_OWNED)


RULE = Rule(NAME, Kind.GATE, Phase.MESSAGE, check, "a person owns it or the review window is open")
