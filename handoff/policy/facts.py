"""Loading the facts a decision needs, in the caller's transaction: the customer's recent
messages, the contact's opt-out, the previous decision under the same ownership, the AI's
earlier answers, who is online (Redis presence) and the organization's policy settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ContactIdentity, HandoffDecision, Message, utcnow
from gateway.presence import online_agents
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.context import ConversationContext
from handoff.policy.base import Phase, PolicyInput
from handoff.policy.config import policy_settings

RECENT_MESSAGES = 10  # customer messages the tone and the word count look at
STREAK_LIMIT = 10  # earlier AI answers the streak looks at


async def message_facts(
    session: AsyncSession, services: Services, context: ConversationContext, message: Message
) -> PolicyInput:
    """The facts for deciding about `message` as it arrives."""
    texts = await _customer_texts(session, message.conversation_id, up_to=message.id)
    return await _facts(session, services, context, Phase.MESSAGE, texts or (message.text,))


async def reply_facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    reply: ResponderReply,
) -> tuple[PolicyInput, int | None]:
    """The facts for deciding about the AI's `reply`, and the id of the customer message it
    answers (the latest one)."""
    conversation = context.conversation
    rows = await session.execute(
        select(Message.id, Message.text)
        .where(Message.conversation_id == conversation.id, Message.direction == "inbound")
        .order_by(Message.id.desc())
        .limit(1)
    )
    latest = rows.first()
    texts = await _customer_texts(session, conversation.id, up_to=latest.id if latest else None)
    known = await session.scalars(
        select(Message.meta)
        .where(
            Message.conversation_id == conversation.id,
            Message.author == "ai",
            Message.ownership_version == conversation.ownership_version,
        )
        .order_by(Message.id.desc())
        .limit(STREAK_LIMIT)
    )
    facts = await _facts(
        session,
        services,
        context,
        Phase.REPLY,
        texts,
        reply=reply,
        earlier_answers_known=tuple(bool((meta or {}).get("knows", True)) for meta in known),
    )
    return facts, latest.id if latest else None


async def _facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    phase: Phase,
    texts: tuple[str, ...],
    *,
    reply: ResponderReply | None = None,
    earlier_answers_known: tuple[bool, ...] = (),
) -> PolicyInput:
    conversation = context.conversation
    opted_out_at = (
        await session.scalar(
            select(ContactIdentity.opted_out_at).where(
                ContactIdentity.organization_id == conversation.organization_id,
                ContactIdentity.kind == conversation.address_kind,
                ContactIdentity.address == conversation.address,
            )
        )
        if services.channels.spec(conversation.channel).honours_opt_out
        else None
    )
    previous = (
        await session.execute(
            select(HandoffDecision.outcome, HandoffDecision.fired_rule)
            .where(
                HandoffDecision.conversation_id == conversation.id,
                HandoffDecision.ownership_version == conversation.ownership_version,
            )
            .order_by(HandoffDecision.id.desc())
            .limit(1)
        )
    ).first()
    online = await online_agents(services.events.redis, conversation.organization_id)
    return PolicyInput(
        phase=phase,
        text=texts[-1] if texts else "",
        recent_customer_texts=texts,
        state=conversation.state,
        settings=policy_settings(context.settings, conversation.channel),
        now=utcnow(),
        online_agents=len(online),
        opted_out=opted_out_at is not None,
        ai_paused_until=conversation.ai_paused_until,
        previous_outcome=previous.outcome if previous else None,
        previous_rule=previous.fired_rule if previous else None,
        reply=reply,
        earlier_answers_known=earlier_answers_known,
    )


async def _customer_texts(
    session: AsyncSession, conversation_id: int, up_to: int | None
) -> tuple[str, ...]:
    query = select(Message.text).where(
        Message.conversation_id == conversation_id, Message.direction == "inbound"
    )
    if up_to is not None:
        query = query.where(Message.id <= up_to)
    rows = await session.scalars(query.order_by(Message.id.desc()).limit(RECENT_MESSAGES))
    return tuple(reversed(rows.all()))
