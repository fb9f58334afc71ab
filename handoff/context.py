"""Loading what a decision needs about one conversation: the conversation row (scoped to
its organization), the organization and its settings, and the recent history."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
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


_CONTEXT = (
    select(Conversation, Organization)
    .join(Organization, Organization.id == Conversation.organization_id)
    .where(Conversation.id == bindparam("conversation_id"))
)
_CONTEXT_IN_ORGANIZATION = _CONTEXT.where(
    Conversation.organization_id == bindparam("organization_id")
)
_RECENT_TURNS = (
    select(Message.author, Message.text)
    .where(Message.conversation_id == bindparam("conversation_id"))
    .order_by(Message.id.desc())
    .limit(HISTORY_LIMIT)
)


async def load_context(
    session: AsyncSession, conversation_id: int, organization_id: int | None = None
) -> ConversationContext:
    # built once: every message and every AI reply loads its conversation's context
    statement = _CONTEXT if organization_id is None else _CONTEXT_IN_ORGANIZATION
    parameters = {"conversation_id": conversation_id, "organization_id": organization_id}
    row = (await session.execute(statement, parameters)).first()
    if row is None:
        raise NotFound("no such conversation")
    conversation, organization = row
    return ConversationContext(
        conversation, organization, OrganizationSettings.from_json(organization.settings)
    )


async def recent_turns(session: AsyncSession, conversation_id: int) -> tuple[Turn, ...]:
    rows = await session.execute(_RECENT_TURNS, {"conversation_id": conversation_id})
    return tuple(Turn(author, text) for author, text in reversed(rows.all()))
