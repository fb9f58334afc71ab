"""The AI's reply budget on email, the last guard against a loop with an auto-responder
that marks nothing (no Auto-Submitted, no Precedence): at most `PER_CONVERSATION` AI
replies in a conversation since a person last wrote in it, and at most `PER_SENDER_HOUR`
AI replies to one address per hour. A mail beyond the budget goes to a person instead of
the AI, and the conversation is marked for attention with the reason."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import ownership
from gateway.models import Conversation, Message, utcnow
from gateway.ownership import State

PER_CONVERSATION = 8
PER_SENDER_HOUR = 5


async def exceeded(session: AsyncSession, conversation: Conversation) -> str | None:
    """Why the AI may not answer this conversation's new mail, or None."""
    last_person = (
        select(func.max(Message.id))
        .where(Message.conversation_id == conversation.id, Message.author == "agent")
        .scalar_subquery()
    )
    replies = await session.scalar(  # one statement: this runs for every inbound mail
        select(func.count(Message.id)).where(
            Message.conversation_id == conversation.id,
            Message.author == "ai",
            Message.id > func.coalesce(last_person, 0),
        )
    )
    if (replies or 0) >= PER_CONVERSATION:
        return (
            f"The AI already sent {replies} replies in this conversation without a person "
            "writing; the other side may be an automatic responder."
        )
    recent = await session.scalar(
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.organization_id == conversation.organization_id,
            Conversation.channel == conversation.channel,
            Conversation.address == conversation.address,
            Message.author == "ai",
            Message.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= PER_SENDER_HOUR:
        return (
            f"The AI already sent {recent} replies to {conversation.address} in the last hour; "
            "the other side may be an automatic responder."
        )
    return None


async def enforce(session: AsyncSession, conversation: Conversation) -> bool:
    """Hand the conversation to a person when the budget is spent; returns whether it did."""
    if conversation.state != State.AI.value:
        return False
    reason = await exceeded(session, conversation)
    if reason is None:
        return False
    await ownership.transition(
        session, conversation, State.QUEUED, actor=ownership.SYSTEM, reason=reason
    )
    conversation.needs_attention = True
    conversation.attention_reason = reason
    return True
