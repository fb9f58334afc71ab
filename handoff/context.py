"""Loading what a decision needs about one conversation: the conversation row (scoped to
its organization), the organization and its settings, and the recent history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import NotFound
from gateway.models import Conversation, Message, Organization
from gateway.org_settings import OrganizationSettings
from handoff.ai.responder import Turn

HISTORY_LIMIT = 20


@dataclass(frozen=True, slots=True)
class ConversationContext:
    conversation: Conversation
    organization: Organization
    settings: OrganizationSettings


async def load_context(
    session: AsyncSession, conversation_id: int, organization_id: int | None = None
) -> ConversationContext:
    query = select(Conversation, Organization).join(
        Organization, Organization.id == Conversation.organization_id
    )
    query = query.where(Conversation.id == conversation_id)
    if organization_id is not None:
        query = query.where(Conversation.organization_id == organization_id)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no such conversation")
    conversation, organization = row
    return ConversationContext(
        conversation, organization, OrganizationSettings.from_json(organization.settings)
    )


async def recent_turns(session: AsyncSession, conversation_id: int) -> tuple[Turn, ...]:
    rows = await session.execute(
        select(Message.author, Message.text)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return tuple(Turn(author, text) for author, text in reversed(rows.all()))
