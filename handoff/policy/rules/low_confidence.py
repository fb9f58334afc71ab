"""Trigger (after the AI answered): the AI could not answer confidently this many times in
a row (its replies' `knows` flag) since the conversation last changed hands."""

from __future__ import annotations

from itertools import takewhile

from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult
from handoff.policy.rules.common import off

NAME = "low_confidence_streak"


def check(inp: PolicyInput) -> RuleResult:
    wanted = inp.settings.preset.low_confidence_streak
    if wanted is None:
        return off(NAME, inp)
    if inp.reply is None or inp.reply.knows:
        return RuleResult(NAME, False, "the AI answered")
    streak = 1 + sum(1 for _ in takewhile(lambda known: not known, inp.earlier_answers_known))
    detail = (
        f"the AI could not answer {_questions(streak)}{' in a row' if streak > 1 else ''}; "
        f"it calls a person after {_questions(wanted)}"
    )
    if streak < wanted:
        return RuleResult(NAME, False, detail)
    return RuleResult(
        NAME,
        True,
        detail,
        outcome=Outcome.QUEUED,
        reason=(
            "the assistant could not answer the customer's question"
            if streak == 1
            else f"the assistant could not answer {streak} questions in a row"
        ),
    )


def _questions(n: int) -> str:
    return f"{n} question" if n == 1 else f"{n} questions"


RULE = Rule(NAME, Kind.TRIGGER, Phase.REPLY, check, "N answers in a row the AI couldn't give")
