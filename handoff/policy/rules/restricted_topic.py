"""Trigger: the message raises one of the organization's restricted topics (billing
disputes, cancellations, legal matters, ...), which it wants a person to handle."""

from __future__ import annotations

from handoff.person_request import normalize
from handoff.policy.base import Kind, Phase, PolicyInput, Rule, RuleResult
from handoff.policy.rules.common import off, soft_handoff

NAME = "restricted_topic"


def check(inp: PolicyInput) -> RuleResult:
    if not inp.settings.preset.restricted_topics:
        return off(NAME, inp)
    text = normalize(inp.text)
    for topic in inp.settings.topics:
        words = topic.find(text)
        if words is not None:
            return soft_handoff(
                inp,
                NAME,
                f"{topic.name}: {words!r}",
                f"the message raises {topic.label}",
            )
    return RuleResult(NAME, False, "no restricted topic")


RULE = Rule(NAME, Kind.TRIGGER, Phase.MESSAGE, check, "restricted topics")
