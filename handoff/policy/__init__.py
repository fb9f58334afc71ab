"""The handoff policy: who answers a customer message, decided by an ordered table of
small named rules (`table.RULES`, one rule per module in `rules/`) at a handoff level
(`levels`), with every decision stored with the rules that fired and those that did not
(`records`). Rules are pure functions of a `PolicyInput`; `service` loads the facts and
stores the decision."""

from handoff.policy.base import Decision, Outcome, Phase, PolicyInput, RuleResult
from handoff.policy.service import decide_on_message, decide_on_reply, follow_up, handoff_plan
from handoff.policy.table import RULES, decide

__all__ = [
    "RULES",
    "Decision",
    "Outcome",
    "Phase",
    "PolicyInput",
    "RuleResult",
    "decide",
    "decide_on_message",
    "decide_on_reply",
    "follow_up",
    "handoff_plan",
]
