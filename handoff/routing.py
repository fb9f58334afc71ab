"""Routing one inbound message: reopen a resolved conversation, then let the handoff policy
(`handoff.policy`, an ordered table of named rules) decide: the AI stays silent, the
conversation goes to a person, or the AI is asked for a reply.

`decide_route` does the deciding in one transaction and says whether the AI should answer;
`route_message` (the job) then enqueues the AI's turn, while `handoff.answer_now` runs it at
once for a customer who waits on the line."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ownership, webhooks
from gateway.db import after_commit
from gateway.events import Event
from gateway.models import Conversation, Transition
from gateway.ownership import State
from gateway.queues import AI, ANSWER_MESSAGE, INTAKE, ROUTE_MESSAGE, SUMMARIES
from gateway.runtime import Services
from handoff import ladder
from handoff.ai.summary_job import SUMMARIZE
from handoff.context import ConversationContext, claim_for_routing
from handoff.notices import post_notice
from handoff.policy import Decision, Outcome, decide_on_message, follow_up, handoff_plan

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Routed:
    """What routing decided: the outcome's name, and for "ai" the conversation and the
    ownership version the AI's reply must be computed under."""

    outcome: str
    conversation_id: int | None = None
    version: int | None = None
    organization_id: int | None = None


async def route_message(services: Services, message_id: int) -> str:
    """Decide who answers one inbound message, and queue the AI's turn when it is the AI;
    returns the outcome's name."""
    routed = await decide_route(services, message_id)
    if routed.conversation_id is not None and routed.version is not None:
        await services.jobs.enqueue_async(
            AI,
            ANSWER_MESSAGE,
            message_id,
            routed.conversation_id,
            routed.version,
            conversation_id=routed.conversation_id,
        )
    return routed.outcome


async def route_messages(services: Services, messages: Sequence[Sequence[int]]) -> list[str]:
    """Route the messages intake stored together, one after another, each as
    `route_message` routes it. A message whose routing fails gets a job of its own, which
    tries it again and, failing for good, marks its conversation as any routing job does;
    the others go on."""
    outcomes = []
    for message_id, conversation_id in messages:
        try:
            outcomes.append(await route_message(services, message_id))
        except Exception as error:
            log.warning("message %s could not be routed with the others (%s)", message_id, error)
            await services.jobs.enqueue_async(
                INTAKE, ROUTE_MESSAGE, message_id, conversation_id=conversation_id
            )
            outcomes.append("routed alone")
    return outcomes


async def decide_route(services: Services, message_id: int) -> Routed:
    """Decide who answers one inbound message, in one transaction claimed once per message."""
    async with services.db.transaction() as session:
        return await decide_route_in(session, services, message_id)


async def decide_route_in(session: AsyncSession, services: Services, message_id: int) -> Routed:
    """`decide_route` in the caller's transaction (the one that stores the message, for a
    sender who waits on the line)."""
    claimed = await claim_for_routing(session, message_id)
    if claimed is None:
        return Routed("already-routed")
    message, context = claimed.message, claimed.context
    conversation = context.conversation
    if claimed.webhook_endpoints:
        await webhooks.emit(
            session,
            services,
            conversation.organization_id,
            "message",
            webhooks.message_data(message, conversation),
        )
    if message.no_reply:
        # a consent keyword (SMS STOP, START, HELP): kept, never answered
        claimed.owe_turn(None)
        return Routed("no-reply")
    if conversation.state == State.RESOLVED:
        if message.created_at <= await _resolved_at(session, conversation.id):
            # a late job must not reopen a closed conversation
            claimed.owe_turn(None)
            return Routed("before-resolution")
        await ownership.transition(
            session,
            conversation,
            State.AI,
            actor=ownership.CUSTOMER,
            reason="the customer wrote again",
        )
        announce_state(session, services, conversation)
    decision = await decide_on_message(session, services, context, message)
    await carry_out(session, services, context, decision)
    if decision.outcome is Outcome.HUMAN_OWNED:
        await ladder.customer_wrote(session, services, conversation, message.created_at)
    if decision.outcome is not Outcome.AI:
        claimed.owe_turn(None)
        return Routed(decision.outcome.value)
    claimed.owe_turn(conversation.ownership_version)  # owed until stored
    return Routed(
        "ai", conversation.id, conversation.ownership_version, conversation.organization_id
    )


async def hand_off(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    *,
    reason: str,
    rule_hits: list[dict[str, object]],
    expiry: timedelta,
    notice_values: Mapping[str, str] | None = None,
) -> None:
    """Queue the conversation for a person, tell the customer, start the ladder (reminders,
    escalation, expiry) and tell the integrations."""
    await ownership.transition(
        session, conversation, State.QUEUED, actor=ownership.AI, reason=reason, rule_hits=rule_hits
    )
    await post_notice(session, services, conversation, "handoff", **(notice_values or {}))
    version, conversation_id = conversation.ownership_version, conversation.id
    after_commit(
        session,
        lambda: services.jobs.enqueue_async(
            SUMMARIES, SUMMARIZE, conversation_id, version, conversation_id=conversation_id
        ),
    )
    await ladder.start(session, services, conversation, expiry=expiry)
    await webhooks.emit(
        session,
        services,
        conversation.organization_id,
        "handoff",
        {"conversation": webhooks.conversation_data(conversation), "rule_hits": rule_hits},
    )
    announce_state(session, services, conversation)


async def carry_out(
    session: AsyncSession, services: Services, context: ConversationContext, decision: Decision
) -> None:
    """Do what a policy decision asks besides the AI's own turn: queue the conversation for
    a person, or keep it with the AI while asking for details or taking a message."""
    if decision.outcome is Outcome.QUEUED:
        plan = handoff_plan(decision, context.settings)
        await hand_off(
            session,
            services,
            context.conversation,
            reason=plan.reason,
            rule_hits=plan.rule_hits,
            expiry=plan.expiry,
            notice_values=plan.notice_values,
        )
    else:
        await follow_up(session, services, context.conversation, decision)


async def _resolved_at(session: AsyncSession, conversation_id: int) -> datetime:
    resolved = await session.scalar(
        select(func.max(Transition.created_at)).where(
            Transition.conversation_id == conversation_id, Transition.to_state == State.RESOLVED
        )
    )
    return resolved or datetime.min.replace(tzinfo=UTC)


def announce_state(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Tell the live pages and the widget about the new state once it is committed."""
    event = state_event(conversation)
    after_commit(session, lambda: services.events.publish(event))


def state_event(conversation: Conversation, **extra: object) -> Event:
    return Event(
        "state",
        conversation.organization_id,
        conversation.id,
        {
            "state": conversation.state,
            "ownership_version": conversation.ownership_version,
            "handoff_reason": conversation.handoff_reason,
            "assigned_agent_id": conversation.assigned_agent_id,
            **extra,
        },
    )
