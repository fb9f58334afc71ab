"""What several triggers share: the handoff a "soft" trigger (keywords, restricted
topics, tone) proposes, which at levels that gather the problem first becomes a request
for the whole problem statement, unless the customer already wrote that much."""

from __future__ import annotations

from handoff.policy.base import Outcome, PolicyInput, RuleResult


def customer_words(inp: PolicyInput) -> int:
    return sum(len(text.split()) for text in inp.recent_customer_texts)


def soft_handoff(inp: PolicyInput, rule: str, detail: str, reason: str) -> RuleResult:
    wanted = inp.settings.preset.gather_words
    written = customer_words(inp)
    if wanted > 0 and written < wanted:
        return RuleResult(
            rule,
            True,
            f"{detail}; asking for the whole problem first ({written} of {wanted} words)",
            outcome=Outcome.GATHER,
            reason=reason,
            notice="gather_details",
        )
    return RuleResult(rule, True, detail, outcome=Outcome.QUEUED, reason=reason)


def off(rule: str, inp: PolicyInput) -> RuleResult:
    return RuleResult(rule, False, f"off at level {inp.settings.level}")
