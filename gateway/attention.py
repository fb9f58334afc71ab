""" "Needs attention": the flag on a conversation that something went wrong a person should
see (a message that could not be sent, a job that failed for good, a message taken for the
team). Set in one place, here: the flag and its reason are stored, a warning is logged, and
the agents' pages get an `attention` event once the change is committed."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.events import Event, EventPublisher
from gateway.models import Conversation
from gateway.runtime import Services

log = logging.getLogger(__name__)


def flag(
    session: AsyncSession, events: EventPublisher, conversation: Conversation, reason: str
) -> None:
    """Flag `conversation` inside the caller's transaction."""
    conversation.needs_attention = True
    conversation.attention_reason = reason
    log.warning("conversation %s needs attention: %s", conversation.id, reason)
    event = Event("attention", conversation.organization_id, conversation.id, {"reason": reason})
    after_commit(session, lambda: events.publish(event))


async def mark_needs_attention(services: Services, conversation_id: int, reason: str) -> None:
    """Flag the conversation in a transaction of its own (nothing if it is gone)."""
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is not None:
            flag(session, services.events, conversation, reason)
