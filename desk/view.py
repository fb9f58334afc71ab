"""Everything the conversation view shows, read in one transaction: the conversation, its
customer (profile, identities, other conversations), the whole history across the
customer's channels (each message with its channel and delivery status; email HTML
sanitized), the internal notes, why it was handed off and every transition, and whether a
reply can reach the customer. Older history pages back with `before`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from desk.reachability import composer_status
from desk.serializers import conversations_json, message_json, note_json
from gateway.errors import BadInput
from gateway.models import (
    Agent,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationNote,
    Message,
    Transition,
    utcnow,
)
from handoff.context import load_context

HISTORY_PAGE = 200


async def history(
    session: AsyncSession,
    organization_id: int,
    contact_id: int,
    *,
    before: int | None = None,
    limit: int = HISTORY_PAGE,
) -> tuple[list[dict[str, Any]], bool]:
    """The customer's messages on every channel, oldest first: the newest `limit` of them
    (older than message `before`), and whether older ones remain."""
    if not 1 <= limit <= HISTORY_PAGE:
        raise BadInput(f"limit must be between 1 and {HISTORY_PAGE}")
    conversation_ids = list(
        await session.scalars(
            select(Conversation.id).where(
                Conversation.organization_id == organization_id,
                Conversation.contact_id == contact_id,
            )
        )
    )
    query = (
        select(Message, Agent.name, Conversation.address_kind)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(Message.conversation_id.in_(conversation_ids))
        .order_by(Message.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(Message.id < before)
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    return [message_json(m, name, kind) for m, name, kind in reversed(rows[:limit])], more


async def conversation_view(
    session: AsyncSession, agent: Agent, conversation_id: int
) -> dict[str, Any]:
    """The conversation view's data; NotFound unless it is the agent's organization's."""
    context = await load_context(session, conversation_id, agent.organization_id)
    conversation = context.conversation
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    identities = list(
        await session.scalars(
            select(ContactIdentity)
            .where(ContactIdentity.contact_id == contact.id)
            .order_by(ContactIdentity.id)
        )
    )
    others = (
        await session.execute(
            select(
                Conversation.id, Conversation.channel, Conversation.state, Conversation.updated_at
            )
            .where(
                Conversation.organization_id == agent.organization_id,
                Conversation.contact_id == contact.id,
            )
            .order_by(Conversation.updated_at.desc())
        )
    ).all()
    messages, more = await history(session, agent.organization_id, contact.id)
    actor = aliased(Agent)
    notes = (
        await session.execute(
            select(ConversationNote, actor.name)
            .join(actor, actor.id == ConversationNote.agent_id)
            .where(ConversationNote.conversation_id == conversation.id)
            .order_by(ConversationNote.id)
        )
    ).all()
    transitions = (
        await session.execute(
            select(Transition, Agent.name)
            .outerjoin(Agent, Agent.id == Transition.agent_id)
            .where(Transition.conversation_id == conversation.id)
            .order_by(Transition.id)
        )
    ).all()
    (shown,) = await conversations_json(session, [conversation])
    return {
        "conversation": shown,
        "contact": {
            "id": contact.id,
            "name": contact.name,
            "created_at": contact.created_at,
            "identities": [
                {
                    "id": identity.id,
                    "kind": identity.kind,
                    "address": identity.address,
                    "opted_out_at": identity.opted_out_at,
                }
                for identity in identities
            ],
            "conversations": [
                {"id": cid, "channel": channel, "state": state, "updated_at": updated}
                for cid, channel, state, updated in others
            ],
        },
        "messages": messages,
        "has_older_messages": more,
        "notes": [note_json(note, name) for note, name in notes],
        "transitions": [
            {
                "id": t.id,
                "from": t.from_state,
                "to": t.to_state,
                "actor": t.actor,
                "agent_id": t.agent_id,
                "agent_name": name,
                "reason": t.reason,
                "rule_hits": t.rule_hits,
                "at": t.created_at,
            }
            for t, name in transitions
        ],
        "reachability": await composer_status(session, conversation),
        "time_zone": agent.time_zone,
        "server_time": utcnow(),
    }
