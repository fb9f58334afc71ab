"""Trigger: the message contains one of the organization's own keywords or phrases."""

from __future__ import annotations

from handoff.person_request import normalize
from handoff.policy.base import Kind, Phase, PolicyInput, Rule, RuleResult
from handoff.policy.rules.common import off, soft_handoff

NAME = "keywords"


def check(inp: PolicyInput) -> RuleResult:
    pattern = inp.settings.keywords
    if not inp.settings.preset.keywords:
        return off(NAME, inp)
    if pattern is None:
        return RuleResult(NAME, False, "the organization has no keywords")
    match = pattern.search(normalize(inp.text))
    if match is None:
        return RuleResult(NAME, False, "no keyword in the message")
    return soft_handoff(
        inp,
        NAME,
        f"keyword {match.group(0)!r}",
        f"the message mentions {match.group(0)!r}",
    )


RULE = Rule(NAME, Kind.TRIGGER, Phase.MESSAGE, check, "organization keywords and phrases")
