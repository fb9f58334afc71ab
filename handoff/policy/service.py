"""The policy's thin database layer: load the facts, run the table, store the decision,
and carry out what is not a handoff (asking for the whole problem, taking a message).
The handoff itself is `handoff.routing.hand_off`, fed by `handoff_plan`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway import attention
from gateway.models import Conversation, Message, utcnow
from gateway.org_settings import OrganizationSettings
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.context import ConversationContext
from handoff.notices import post_notice
from handoff.policy.base import Decision, Outcome
from handoff.policy.facts import message_facts, reply_facts
from handoff.policy.records import record
from handoff.policy.table import decide


async def decide_on_message(
    session: AsyncSession, services: Services, context: ConversationContext, message: Message
) -> Decision:
    """Decide about a customer message as it arrives, and store the decision."""
    decision = decide(await message_facts(session, services, context, message))
    record(session, context.conversation, message.id, decision)
    return decision


async def decide_on_reply(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    reply: ResponderReply,
) -> Decision:
    """Decide about the AI's computed reply before it is stored, and store the decision."""
    facts, message_id = await reply_facts(session, services, context, reply)
    decision = decide(facts)
    record(session, context.conversation, message_id, decision)
    return decision


@dataclass(frozen=True, slots=True)
class HandoffPlan:
    reason: str
    rule_hits: list[dict[str, Any]]
    expiry: timedelta
    notice_values: Mapping[str, str]  # for the "handoff" notice, e.g. an honest {wait}


def handoff_plan(decision: Decision, settings: OrganizationSettings) -> HandoffPlan:
    """How to queue the conversation for a decision whose outcome is `queued`: after hours
    the unclaimed-handoff expiry counts from the next opening."""
    _notice, values = decision.notice
    expiry = settings.queue_expiry
    if decision.back_at is not None:
        expiry += max(decision.back_at - utcnow(), timedelta(0))
    return HandoffPlan(decision.reason, decision.rule_hits(), expiry, values)


async def follow_up(
    session: AsyncSession, services: Services, conversation: Conversation, decision: Decision
) -> None:
    """The AI keeps the conversation but a person was wanted: ask for the whole problem,
    or take a message and flag the conversation for the team."""
    notice, values = decision.notice
    if decision.outcome is Outcome.GATHER and notice:
        await post_notice(session, services, conversation, notice, **values)
    elif decision.outcome is Outcome.TAKE_MESSAGE and notice:
        await post_notice(session, services, conversation, notice, **values)
        reason = f"message taken for the team: {decision.reason}"
        attention.flag(session, services.events, conversation, reason)
