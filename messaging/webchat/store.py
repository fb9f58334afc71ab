"""What the widget reads from the database: the organization behind a widget key, the
visitor's web chat conversation and its visible history. Outgoing messages count as
visible once they are on their way; one still pending (or dropped because a person took
over) has not reached the customer and never appears."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from gateway.db import Database
from gateway.models import Agent, ContactIdentity, Conversation, Message, Organization
from messaging.webchat.channel import NAME as CHANNEL

HISTORY_LIMIT = 100
VISIBLE_OUTBOUND = ("sending", "sent", "delivered", "queued")


@dataclass(frozen=True, slots=True)
class Widget:
    organization_id: int
    name: str
    allowed_origins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VisitorConversation:
    id: int
    state: str
    agent_name: str | None


async def find_widget(db: Database, widget_key: str) -> Widget | None:
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Organization.id, Organization.name, Organization.allowed_origins).where(
                    Organization.widget_key == widget_key
                )
            )
        ).first()
    if row is None:
        return None
    origins = tuple(str(item) for item in (row[2] or ()))
    return Widget(organization_id=row[0], name=row[1], allowed_origins=origins)


async def demo_widget_key(db: Database, slug: str = "demo") -> str | None:
    async with db.transaction() as session:
        key = await session.scalar(select(Organization.widget_key).where(Organization.slug == slug))
    return None if key is None else str(key)


async def find_conversation(
    db: Database, organization_id: int, visitor_id: str
) -> VisitorConversation | None:
    """The visitor's web chat conversation in the organization, if they ever wrote."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Conversation.id, Conversation.state, Agent.name)
                .join(ContactIdentity, ContactIdentity.contact_id == Conversation.contact_id)
                .outerjoin(Agent, Agent.id == Conversation.assigned_agent_id)
                .where(
                    ContactIdentity.organization_id == organization_id,
                    ContactIdentity.kind == "web",
                    ContactIdentity.address == visitor_id,
                    Conversation.organization_id == organization_id,
                    Conversation.channel == CHANNEL,
                    Conversation.thread_key == "",
                )
            )
        ).first()
    return None if row is None else VisitorConversation(row[0], row[1], row[2])


async def agent_name(db: Database, organization_id: int, agent_id: int | None) -> str | None:
    if agent_id is None:
        return None
    async with db.transaction() as session:
        name = await session.scalar(
            select(Agent.name).where(Agent.id == agent_id, Agent.organization_id == organization_id)
        )
    return None if name is None else str(name)


async def history(
    db: Database, conversation_id: int, *, after_id: int | None = None
) -> list[dict[str, Any]]:
    """The conversation's visible messages, oldest first: the last HISTORY_LIMIT, or the
    first HISTORY_LIMIT after `after_id`."""
    query = (
        select(Message, Agent.name)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(
            Message.conversation_id == conversation_id,
            or_(Message.direction == "inbound", Message.delivery_status.in_(VISIBLE_OUTBOUND)),
        )
    )
    if after_id is None:
        query = query.order_by(Message.id.desc()).limit(HISTORY_LIMIT)
    else:
        query = query.where(Message.id > after_id).order_by(Message.id).limit(HISTORY_LIMIT)
    async with db.transaction() as session:
        rows = list((await session.execute(query)).all())
    if after_id is None:
        rows.reverse()
    return [
        {
            "id": message.id,
            "author": message.author,
            "author_name": name,
            "text": message.text,
            "notice": message.notice,
            "created_at": message.created_at.isoformat(),
        }
        for message, name in rows
    ]


async def stored_message_id(db: Database, organization_id: int, provider_id: str) -> int | None:
    """The id of a web chat message already received under `provider_id`, if any."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Message.id).where(
                Message.organization_id == organization_id,
                Message.channel == CHANNEL,
                Message.provider_message_id == provider_id,
            )
        )
    return None if found is None else int(found)
