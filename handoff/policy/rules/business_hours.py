"""Modifier: a handoff proposed outside business hours does what the organization chose:
queue it with an honest notice of when someone will answer (the next opening, in the
organization's time zone), or keep the AI and take a message for the team."""

from __future__ import annotations

from handoff.policy.base import Kind, Outcome, PolicyInput, Rule, RuleResult
from handoff.policy.config import AI_TAKES_MESSAGE

NAME = "outside_business_hours"
WHEN_UNKNOWN = "when we open again"


def check(inp: PolicyInput) -> RuleResult:
    schedule = inp.settings.schedule
    if schedule.is_open(inp.now):
        return RuleResult(NAME, False, "within business hours")
    opening = schedule.next_opening(inp.now)
    when = schedule.describe(opening, inp.now) if opening else WHEN_UNKNOWN
    values = {"next_opening": when}
    if inp.settings.outside_hours == AI_TAKES_MESSAGE:
        return RuleResult(
            NAME,
            True,
            f"closed until {when}: the AI takes a message",
            outcome=Outcome.TAKE_MESSAGE,
            notice="message_taken_after_hours",
            values=values,
        )
    return RuleResult(
        NAME,
        True,
        f"closed until {when}: queued with a notice",
        outcome=Outcome.QUEUED,
        notice="handoff",
        values={
            **values,
            "wait": f"Our team is away right now and back {when}; someone will reply here then.",
        },
        back_at=opening,
    )


RULE = Rule(NAME, Kind.MODIFIER, None, check, "outside business hours: the organization's choice")
