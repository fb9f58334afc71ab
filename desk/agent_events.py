"""Live events meant for the agents' pages only: internal notes, label and team changes,
who is viewing a conversation. They go to the organization's channel and never to the
conversation's channel, which customer-facing sockets (the web chat widget) follow."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.events import Event, EventPublisher, org_channel
from gateway.models import Conversation

NOTE = "note"
UPDATED = "updated"
VIEWING = "viewing"


async def publish_to_agents(events: EventPublisher, event: Event) -> int:
    return int(await events.redis.publish(org_channel(event.organization_id), event.to_json()))


def after_commit_to_agents(session: AsyncSession, events: EventPublisher, event: Event) -> None:
    after_commit(session, lambda: publish_to_agents(events, event))


def updated_event(conversation: Conversation, **extra: Any) -> Event:
    """The fields of a conversation that the queue shows, after a change that is not a
    change of hands (label, team)."""
    return Event(
        UPDATED,
        conversation.organization_id,
        conversation.id,
        {
            "state": conversation.state,
            "label": conversation.label,
            "team_id": conversation.team_id,
            "assigned_agent_id": conversation.assigned_agent_id,
            "ai_paused_until": conversation.ai_paused_until,
            **extra,
        },
    )
