"""The JSON of a conversation, a queue row, a message and a note, each built in this one
place for every route and page of the desk (the shapes are named in `desk.schemas`). A
queue row is a conversation's JSON cut to what the list shows, plus its customer, newest
message and unread mark."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import delivery_state
from desk.reasons import customer_words, labelled_hits
from gateway.models import Agent, Conversation, ConversationNote, Message, Team
from gateway.sanitize import sanitize_html


def summary_line(summary: str | None) -> str | None:
    if not summary:
        return None
    for line in summary.splitlines():
        if line.strip():
            return line.strip()[:200]
    return None


def conversation_json(
    conversation: Conversation, team_name: str | None = None, assignee_name: str | None = None
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "ownership_version": conversation.ownership_version,
        "contact_id": conversation.contact_id,
        "address": conversation.address,
        "address_kind": conversation.address_kind,
        "assigned_agent_id": conversation.assigned_agent_id,
        "assignee": None
        if conversation.assigned_agent_id is None
        else {"id": conversation.assigned_agent_id, "name": assignee_name},
        "team_id": conversation.team_id,
        "team": None
        if conversation.team_id is None
        else {"id": conversation.team_id, "name": team_name},
        "label": conversation.label,
        "handoff_reason": conversation.handoff_reason,
        "rule_hits": labelled_hits(conversation.rule_hits),
        "summary": conversation.summary,
        "summary_line": summary_line(conversation.summary),
        "waiting_since": conversation.waiting_since,
        "ai_paused_until": conversation.ai_paused_until,
        "last_customer_at": conversation.last_customer_at,
        "last_human_at": conversation.last_human_at,
        "needs_attention": conversation.needs_attention,
        "attention_reason": conversation.attention_reason,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


async def conversations_json(
    session: AsyncSession, conversations: list[Conversation]
) -> list[dict[str, Any]]:
    """Each conversation's JSON, with its team's and assignee's names (two queries)."""
    team_ids = {c.team_id for c in conversations if c.team_id is not None}
    agent_ids = {c.assigned_agent_id for c in conversations if c.assigned_agent_id is not None}
    teams: dict[int, str] = {}
    agents: dict[int, str] = {}
    if team_ids:
        rows = await session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids)))
        teams = {team_id: name for team_id, name in rows}
    if agent_ids:
        rows = await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))
        agents = {agent_id: name for agent_id, name in rows}
    return [
        conversation_json(
            c,
            teams.get(c.team_id) if c.team_id is not None else None,
            agents.get(c.assigned_agent_id) if c.assigned_agent_id is not None else None,
        )
        for c in conversations
    ]


# What a queue row shows of the conversation itself.
QUEUE_FIELDS = (
    "id",
    "channel",
    "state",
    "ownership_version",
    "waiting_since",
    "handoff_reason",
    "summary_line",
    "label",
    "team",
    "assignee",
    "ai_paused_until",
    "needs_attention",
    "attention_reason",
    "updated_at",
)


def queue_item(
    conversation: Conversation,
    contact_name: str | None,
    team_name: str | None,
    assignee_name: str | None,
    last: dict[int, dict[str, Any]],
    read: dict[int, int],
    page: str | None = None,
) -> dict[str, Any]:
    """One row of the queue, as the page shows it."""
    full = conversation_json(conversation, team_name, assignee_name)
    newest = last.get(conversation.id)
    unread = bool(
        newest and newest["author"] == "customer" and newest["id"] > read.get(conversation.id, 0)
    )
    return {
        **{name: full[name] for name in QUEUE_FIELDS},
        "customer": {
            "contact_id": conversation.contact_id,
            "name": contact_name,
            "address": conversation.address,
            "address_kind": conversation.address_kind,
            "display_name": customer_words(
                contact_name, conversation.address, conversation.address_kind, page
            ),
            "page": page,
        },
        "last_message": newest,
        "last_activity_at": max(conversation.updated_at, newest["at"])
        if newest
        else conversation.updated_at,
        "unread": unread,
    }


def message_json(
    message: Message, author_name: str | None = None, address_kind: str | None = None
) -> dict[str, Any]:
    """A message, with its delivery state in words (`desk.delivery_state`); `address_kind`
    is its conversation's, for the wording of an opt-out."""
    found: dict[str, Any] = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "author": message.author,
        "author_name": author_name,
        "agent_id": message.agent_id,
        "channel": message.channel,
        "text": message.text,
        "html": None,
        "blocked_images": 0,
        "attachments": message.attachments,
        "delivery_status": message.delivery_status,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "delivery": delivery_state.describe(message, address_kind),
        "meta": message.meta,
        "created_at": message.created_at,
    }
    if message.html:
        clean = sanitize_html(message.html)
        found["html"], found["blocked_images"] = clean.html, clean.blocked_images
    return found


def note_json(note: ConversationNote, agent_name: str | None) -> dict[str, Any]:
    return {
        "id": note.id,
        "conversation_id": note.conversation_id,
        "agent": {"id": note.agent_id, "name": agent_name},
        "text": note.text,
        "created_at": note.created_at,
    }
