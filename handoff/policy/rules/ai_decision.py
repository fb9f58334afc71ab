"""Trigger (after the AI answered): the AI's own structured handoff signal
(`ResponderReply.wants_human`, never words found in its reply text). Levels say how it
counts: honored as is; confirmed, only when the guard finds that the customer's last
message asks for a person (at "AI only", so it stays an explicit request); or ignored."""

from __future__ import annotations

from handoff.ai.guard import confirm_person_request
from handoff.policy.base import Kind, Outcome, Phase, PolicyInput, Rule, RuleResult

NAME = "ai_decision"
REASON = "the assistant asked for a person"


def check(inp: PolicyInput) -> RuleResult:
    if inp.reply is None or not inp.reply.wants_human:
        return RuleResult(NAME, False, "the AI did not ask for a person")
    mode = inp.settings.preset.ai_decision
    if mode == "ignored":
        return RuleResult(
            NAME, False, f"the AI asked for a person; ignored at {inp.settings.level}"
        )
    if mode == "confirmed":
        guard = confirm_person_request(inp.text)
        if not guard.wants_person:
            return RuleResult(
                NAME,
                False,
                "the AI asked for a person, but the guard found no request for one in the "
                f"customer's message (score {guard.score:.2f})",
            )
        detail = f"the AI asked for a person, confirmed by the guard (score {guard.score:.2f})"
    else:
        detail = "the AI asked for a person"
    why = inp.reply.handoff_reason
    reason = f"{REASON}: {why}" if why else REASON
    return RuleResult(NAME, True, detail, outcome=Outcome.QUEUED, reason=reason)


RULE = Rule(NAME, Kind.TRIGGER, Phase.REPLY, check, "the AI's own handoff signal")
