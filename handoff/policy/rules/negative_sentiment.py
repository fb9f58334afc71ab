"""Trigger: the customer's frustration over their recent messages (the frustration model,
via `handoff.policy.sentiment`) is at or above the level's threshold."""

from __future__ import annotations

from handoff.policy.base import Kind, Phase, PolicyInput, Rule, RuleResult
from handoff.policy.rules.common import off, soft_handoff
from handoff.policy.sentiment import tone

NAME = "negative_sentiment"


def check(inp: PolicyInput) -> RuleResult:
    preset = inp.settings.preset
    threshold = preset.frustration_threshold
    if threshold is None:
        return off(NAME, inp)
    measured = tone(inp.recent_customer_texts, preset.sentiment_window)
    detail = (
        f"frustration {measured.score:.2f} (latest {measured.latest:.2f}, mean "
        f"{measured.mean:.2f} over {measured.messages} messages), threshold {threshold:.2f}"
    )
    if measured.score < threshold:
        return RuleResult(NAME, False, detail)
    return soft_handoff(inp, NAME, detail, "the customer seems upset")


RULE = Rule(NAME, Kind.TRIGGER, Phase.MESSAGE, check, "the customer sounds frustrated")
