"""The vocabulary of the handoff policy: what a rule sees (`PolicyInput`, facts gathered
beforehand, so rules are pure functions and need no database), what it says
(`RuleResult`), how a rule is described in the table (`Rule`), and what the table decides
(`Decision`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from handoff.ai.responder import ResponderReply

if TYPE_CHECKING:
    from handoff.policy.config import PolicySettings


EXPLICIT_REQUEST = "explicit_person_request"  # the rule whose reason leads (the customer's words)


class Phase(StrEnum):
    MESSAGE = "message"  # a customer message arrived; the AI has not answered yet
    REPLY = "reply"  # the AI's answer to it was computed and not yet sent


class Outcome(StrEnum):
    AI = "ai"  # the AI answers (or its computed answer goes out)
    QUEUED = "queued"  # handed to a person: the conversation waits in the queue
    GATHER = "gather-details"  # the AI first asks for the whole problem, then hands off
    TAKE_MESSAGE = "take-message"  # nobody to hand to: the AI keeps it and takes a message
    HUMAN_OWNED = "human-owned"  # a person owns it or the review window is open: silence
    OPTED_OUT = "opted-out"  # the contact opted out: no reply at all


class Kind(StrEnum):
    GATE = "gate"  # when it fires, its outcome is final and later rules are skipped
    TRIGGER = "trigger"  # when it fires, it proposes a handoff (the first one decides)
    MODIFIER = "modifier"  # checked only when a handoff is proposed; may change how


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What one rule said about one message. A fired rule carries the outcome it asks
    for, the reason the conversation records, and the notice the customer gets."""

    rule: str
    fired: bool
    detail: str
    outcome: Outcome | None = None
    reason: str | None = None
    notice: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    back_at: datetime | None = None  # when people answer again (a queue after hours)

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "fired": self.fired, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the ordered table."""

    name: str
    kind: Kind
    phase: Phase | None  # None: both phases
    check: Callable[[PolicyInput], RuleResult]
    summary: str

    def applies_to(self, phase: Phase) -> bool:
        return self.phase is None or self.phase is phase


@dataclass(frozen=True, slots=True)
class PolicyInput:
    """The facts one decision needs, loaded before the rules run."""

    phase: Phase
    text: str  # the customer's latest message
    recent_customer_texts: tuple[str, ...]  # oldest first, ending with `text`
    state: str  # the conversation's ownership state
    settings: PolicySettings
    now: datetime
    online_agents: int = 0
    # with nobody online, how the channel reaches the team anyway (a call rings phones)
    staffed_without_desk: str | None = None
    opted_out: bool = False
    ai_paused_until: datetime | None = None
    previous_outcome: str | None = None  # the last decision under this ownership version
    previous_rule: str | None = None  # the rule that decided it
    reply: ResponderReply | None = None  # the AI's computed answer (reply phase)
    earlier_answers_known: tuple[bool, ...] = ()  # the AI's earlier `knows`, newest first


@dataclass(frozen=True, slots=True)
class Decision:
    """The table's verdict: the outcome, the rule that decided it (if any), and every
    rule's result in table order."""

    phase: Phase
    level: str
    outcome: Outcome
    results: tuple[RuleResult, ...]
    decided_by: RuleResult | None = None  # the gate or trigger that fired first
    modified_by: RuleResult | None = None  # the business-hours or presence rule, if any

    @property
    def fired_rule(self) -> str | None:
        return self.decided_by.rule if self.decided_by else None

    @property
    def reason(self) -> str:
        """Why, in plain language, for the agent: every trigger that fired, the customer's
        own request for a person first (it outranks the policy's inferences), then the
        deciding trigger, then the others in table order; rule names stay in the record."""
        decided = self.decided_by
        if decided is None:
            return ""
        fired = [
            result
            for result in self.results
            if result.fired
            and result.reason
            and result is not self.modified_by
            and result.outcome not in (Outcome.OPTED_OUT, Outcome.HUMAN_OWNED)
        ]
        fired.sort(key=lambda result: (result.rule != EXPLICIT_REQUEST, result is not decided))
        reasons = list(dict.fromkeys(result.reason for result in fired if result.reason))
        if not reasons:
            return decided.reason or decided.detail
        first, *others = reasons
        return "; also ".join([first, *others])

    @property
    def notice(self) -> tuple[str | None, Mapping[str, str]]:
        """The notice kind and template values to send with the outcome."""
        for result in (self.modified_by, self.decided_by):
            if result is not None and result.notice is not None:
                return result.notice, result.values
        return None, {}

    @property
    def back_at(self) -> datetime | None:
        return self.modified_by.back_at if self.modified_by else None

    def rule_hits(self) -> list[dict[str, Any]]:
        return [result.as_json() for result in self.results if result.fired]

    def rule_results(self) -> list[dict[str, Any]]:
        return [result.as_json() for result in self.results]
