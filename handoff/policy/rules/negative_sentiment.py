"""Trigger: the customer's tone over their recent messages (the sentiment model in
`handoff.policy.sentiment`) is at or below the level's threshold."""

from __future__ import annotations

from handoff.policy.base import Kind, Phase, PolicyInput, Rule, RuleResult
from handoff.policy.rules.common import off, soft_handoff
from handoff.policy.sentiment import tone

NAME = "negative_sentiment"


def check(inp: PolicyInput) -> RuleResult:
    preset = inp.settings.preset
    if preset.sentiment_threshold is None:
        return off(NAME, inp)
    measured = tone(inp.recent_customer_texts, preset.sentiment_window)
    detail = (
        f"tone {measured.score:+.2f} (latest {measured.latest:+.2f}, mean {measured.mean:+.2f} "
        f"over {measured.messages} messages), threshold {preset.sentiment_threshold:+.2f}"
    )
    if measured.score > preset.sentiment_threshold:
        return RuleResult(NAME, False, detail)
    return soft_handoff(inp, NAME, detail, "the customer seems upset")


RULE = Rule(NAME, Kind.TRIGGER, Phase.MESSAGE, check, "negative sentiment")
