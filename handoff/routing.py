"""Routing one inbound message: reopen a resolved conversation, keep the AI silent while a
person owns it, hand off on an explicit request for a person, or ask the AI for a reply.
This is the first trigger; the full rule table comes with the handoff policy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import deadlines, ownership
from gateway.db import after_commit
from gateway.events import Event
from gateway.models import Conversation, Message, Transition, utcnow
from gateway.ownership import State
from gateway.queues import AI
from gateway.runtime import Services
from handoff.context import load_context
from handoff.notices import post_notice
from handoff.person_request import asks_for_person

log = logging.getLogger(__name__)

AI_REPLY = "handoff.jobs.ai_reply"
EXPLICIT_REQUEST = "explicit_person_request"


async def route_message(services: Services, message_id: int) -> str:
    """Decide who answers one inbound message; returns the outcome's name."""
    async with services.db.transaction() as session:
        claimed = await session.execute(
            update(Message)
            .where(Message.id == message_id, Message.routed_at.is_(None))
            .values(routed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return "already-routed"
        message = await session.get(Message, message_id)
        assert message is not None
        context = await load_context(session, message.conversation_id)
        conversation = context.conversation
        if conversation.state == State.RESOLVED:
            if message.created_at <= await _resolved_at(session, conversation.id):
                return "before-resolution"  # a late job must not reopen a closed conversation
            await ownership.transition(
                session,
                conversation,
                State.AI,
                actor=ownership.CUSTOMER,
                reason="the customer wrote again",
            )
            announce_state(session, services, conversation)
        if conversation.state != State.AI:
            return "human-owned"
        if asks_for_person(message.text):
            await hand_off(
                session,
                services,
                conversation,
                reason="the customer asked for a person",
                rule_hits=[{"rule": EXPLICIT_REQUEST, "fired": True}],
                expiry=context.settings.queue_expiry,
            )
            return "queued"
        version = conversation.ownership_version
        conversation_id = conversation.id
        after_commit(
            session,
            lambda: services.jobs.enqueue_async(
                AI, AI_REPLY, conversation_id, version, conversation_id=conversation_id
            ),
        )
        return "ai"


async def hand_off(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    *,
    reason: str,
    rule_hits: list[dict[str, object]],
    expiry: timedelta,
) -> None:
    """Queue the conversation for a person, tell the customer, and set the expiry."""
    await ownership.transition(
        session, conversation, State.QUEUED, actor=ownership.AI, reason=reason, rule_hits=rule_hits
    )
    await post_notice(session, services.jobs, conversation, "handoff")
    await deadlines.schedule(session, services.jobs, conversation, "expire", utcnow() + expiry)
    announce_state(session, services, conversation)


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
