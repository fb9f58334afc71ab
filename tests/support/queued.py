"""A conversation waiting for a person, put there the way the handoff policy does it
(`handoff.routing.hand_off`), without depending on which words the policy reacts to."""

from __future__ import annotations

from sqlalchemy import update

from gateway.models import Message, Organization, utcnow
from gateway.runtime import Services
from handoff.context import load_context
from handoff.routing import hand_off
from tests.support.factories import chat_message, intake_for

RULE_HITS: list[dict[str, object]] = [{"rule": "explicit_request", "fired": True}]


async def queued_conversation(
    services: Services, org: Organization, *, visitor: str = "visitor-1"
) -> int:
    """Receive a customer message and hand the conversation off; returns its id."""
    received = await intake_for(services).receive(
        chat_message(org, "I need a person", visitor=visitor)
    )
    async with services.db.transaction() as session:
        await session.execute(
            update(Message).where(Message.id == received.message_id).values(routed_at=utcnow())
        )
        context = await load_context(session, received.conversation_id)
        await hand_off(
            session,
            services,
            context.conversation,
            reason="the customer asked for a person",
            rule_hits=RULE_HITS,
            expiry=context.settings.queue_expiry,
        )
    return received.conversation_id
