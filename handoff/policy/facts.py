"""Loading the facts a decision needs, in the caller's transaction: the customer's recent
messages, the contact's opt-out, the previous decision under the same ownership, the AI's
earlier answers, who is online (Redis presence) and the organization's policy settings.
Every message and every AI reply is decided on, so the statements are built once, with
their values as parameters, and Redis is asked who is online first and answers while they
run: the decision waits for the slower of the two, not for both one after the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ContactIdentity, HandoffDecision, Message, utcnow
from gateway.presence import count_online
from gateway.runtime import Services
from handoff.ai.responder import ResponderReply
from handoff.context import ConversationContext
from handoff.policy.base import Phase, PolicyInput
from handoff.policy.config import policy_settings

RECENT_MESSAGES = 10  # customer messages the tone and the word count look at
STREAK_LIMIT = 10  # earlier AI answers the streak looks at

_CUSTOMER_TEXTS = (
    select(Message.id, Message.text)
    .where(Message.conversation_id == bindparam("conversation_id"), Message.direction == "inbound")
    .order_by(Message.id.desc())
    .limit(RECENT_MESSAGES)
)
_CUSTOMER_TEXTS_UP_TO = _CUSTOMER_TEXTS.where(Message.id <= bindparam("up_to"))
_AI_ANSWERS = (
    select(Message.meta)
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        Message.author == "ai",
        Message.ownership_version == bindparam("version"),
    )
    .order_by(Message.id.desc())
    .limit(STREAK_LIMIT)
)
_OPTED_OUT_AT = select(ContactIdentity.opted_out_at).where(
    ContactIdentity.organization_id == bindparam("organization_id"),
    ContactIdentity.kind == bindparam("kind"),
    ContactIdentity.address == bindparam("address"),
)
_PREVIOUS_DECISION = (
    select(HandoffDecision.outcome, HandoffDecision.fired_rule)
    .where(
        HandoffDecision.conversation_id == bindparam("conversation_id"),
        HandoffDecision.ownership_version == bindparam("version"),
    )
    .order_by(HandoffDecision.id.desc())
    .limit(1)
)


async def message_facts(
    session: AsyncSession, services: Services, context: ConversationContext, message: Message
) -> PolicyInput:
    """The facts for deciding about `message` as it arrives."""
    async with _asking_who_is_online(services, context) as online:
        rows = await session.execute(
            _CUSTOMER_TEXTS_UP_TO,
            {"conversation_id": message.conversation_id, "up_to": message.id},
        )
        texts = tuple(reversed([text for _, text in rows]))
        return await _facts(
            session, services, context, Phase.MESSAGE, texts or (message.text,), online
        )


async def reply_facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    reply: ResponderReply,
) -> tuple[PolicyInput, int | None]:
    """The facts for deciding about the AI's `reply`, and the id of the customer message it
    answers (the latest one)."""
    conversation = context.conversation
    async with _asking_who_is_online(services, context) as online:
        newest_first = (
            await session.execute(_CUSTOMER_TEXTS, {"conversation_id": conversation.id})
        ).all()
        known = await session.scalars(
            _AI_ANSWERS,
            {"conversation_id": conversation.id, "version": conversation.ownership_version},
        )
        facts = await _facts(
            session,
            services,
            context,
            Phase.REPLY,
            tuple(reversed([text for _, text in newest_first])),
            online,
            reply=reply,
            earlier_answers_known=tuple(bool((meta or {}).get("knows", True)) for meta in known),
        )
    return facts, newest_first[0].id if newest_first else None


@asynccontextmanager
async def _asking_who_is_online(
    services: Services, context: ConversationContext
) -> AsyncIterator[asyncio.Task[int]]:
    """Redis's count of the organization's agents online, asked now and awaited by
    `_facts`. The request goes out before the statements (one turn of the event loop: on
    SQLite they run without giving it one), and is cancelled if one of them fails."""
    asked = asyncio.ensure_future(
        count_online(services.events.redis, context.conversation.organization_id)
    )
    try:
        await asyncio.sleep(0)
        yield asked
    finally:
        if not asked.done():
            asked.cancel()
        elif not asked.cancelled():
            asked.exception()  # seen: a failure that lost the race to a statement's


async def _facts(
    session: AsyncSession,
    services: Services,
    context: ConversationContext,
    phase: Phase,
    texts: tuple[str, ...],
    online: asyncio.Task[int],
    *,
    reply: ResponderReply | None = None,
    earlier_answers_known: tuple[bool, ...] = (),
) -> PolicyInput:
    conversation = context.conversation
    opted_out_at = (
        await session.scalar(
            _OPTED_OUT_AT,
            {
                "organization_id": conversation.organization_id,
                "kind": conversation.address_kind,
                "address": conversation.address,
            },
        )
        if services.channels.spec(conversation.channel).honours_opt_out
        else None
    )
    previous = (
        await session.execute(
            _PREVIOUS_DECISION,
            {"conversation_id": conversation.id, "version": conversation.ownership_version},
        )
    ).first()
    return PolicyInput(
        phase=phase,
        text=texts[-1] if texts else "",
        recent_customer_texts=texts,
        state=conversation.state,
        settings=policy_settings(context.settings, conversation.channel),
        now=utcnow(),
        online_agents=await online,
        opted_out=opted_out_at is not None,
        ai_paused_until=conversation.ai_paused_until,
        previous_outcome=previous.outcome if previous else None,
        previous_rule=previous.fired_rule if previous else None,
        reply=reply,
        earlier_answers_known=earlier_answers_known,
    )
