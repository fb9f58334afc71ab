"""The handoff policy as an ordered table of small named rules, and the one function
that runs it. Gates come first: when one fires its outcome is final and the rest are
recorded as skipped. Every trigger then runs, so the record shows all that fired; the
first one decides. Modifiers (business hours, presence) run only when a handoff is
proposed, and the first that fires says how it is carried out."""

from __future__ import annotations

from collections.abc import Sequence

from handoff.policy.base import Decision, Kind, Outcome, PolicyInput, Rule, RuleResult
from handoff.policy.rules import (
    ai_decision,
    business_hours,
    details_gathered,
    explicit_request,
    human_owned,
    keywords,
    low_confidence,
    negative_sentiment,
    nobody_online,
    opted_out,
    restricted_topic,
)

RULES: tuple[Rule, ...] = (
    opted_out.RULE,
    human_owned.RULE,
    explicit_request.RULE,
    details_gathered.RULE,
    keywords.RULE,
    restricted_topic.RULE,
    negative_sentiment.RULE,
    low_confidence.RULE,
    ai_decision.RULE,
    business_hours.RULE,
    nobody_online.RULE,
)


def decide(inp: PolicyInput, rules: Sequence[Rule] = RULES) -> Decision:
    """Run the rules that apply to `inp.phase`, in order; see the module's description."""
    results: list[RuleResult] = []
    decided: RuleResult | None = None
    modified: RuleResult | None = None
    for rule in rules:
        if not rule.applies_to(inp.phase):
            continue
        if decided is not None and decided.outcome in (Outcome.OPTED_OUT, Outcome.HUMAN_OWNED):
            results.append(RuleResult(rule.name, False, f"skipped: {decided.rule} decided"))
            continue
        if rule.kind is Kind.MODIFIER:
            if decided is None or decided.outcome is not Outcome.QUEUED:
                results.append(RuleResult(rule.name, False, "not checked: nothing to hand off"))
                continue
            if modified is not None:
                results.append(RuleResult(rule.name, False, f"skipped: {modified.rule} applies"))
                continue
        result = rule.check(inp)
        results.append(result)
        if not result.fired:
            continue
        if rule.kind is Kind.MODIFIER:
            modified = result
        elif decided is None:
            decided = result
    outcome = Outcome.AI
    if modified is not None and modified.outcome is not None:
        outcome = modified.outcome
    elif decided is not None and decided.outcome is not None:
        outcome = decided.outcome
    return Decision(
        phase=inp.phase,
        level=inp.settings.level.value,
        outcome=outcome,
        results=tuple(results),
        decided_by=decided,
        modified_by=modified,
    )
