"""Modifier: a handoff proposed within business hours while no agent is online does what
the organization chose: queue it, telling the customer honestly that nobody is online
yet, or keep the AI and take a message for the team. Not on a channel that reaches the
team without the desk (a call rings the transfer targets' phones)."""

from __future__ import annotations

from handoff.policy.base import Kind, Outcome, PolicyInput, Rule, RuleResult
from handoff.policy.config import AI_TAKES_MESSAGE

NAME = "nobody_online"
WAIT = (
    "Nobody from our team is online right now, so it may take a while: someone will reply "
    "here as soon as they're back."
)


def check(inp: PolicyInput) -> RuleResult:
    if inp.online_agents > 0:
        online = inp.online_agents
        return RuleResult(
            NAME, False, f"{online} {'agent is' if online == 1 else 'agents are'} online"
        )
    if inp.staffed_without_desk is not None:
        return RuleResult(NAME, False, f"no agent online, but {inp.staffed_without_desk}")
    if inp.settings.outside_hours == AI_TAKES_MESSAGE:
        return RuleResult(
            NAME,
            True,
            "no agent online: the AI takes a message",
            outcome=Outcome.TAKE_MESSAGE,
            notice="message_taken_unstaffed",
        )
    return RuleResult(
        NAME,
        True,
        "no agent online: queued with a notice",
        outcome=Outcome.QUEUED,
        notice="handoff",
        values={"wait": WAIT},
    )


RULE = Rule(NAME, Kind.MODIFIER, None, check, "nobody online: the organization's choice")
