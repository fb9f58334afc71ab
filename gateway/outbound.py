"""Storing an outgoing message, for every sender alike (the AI, an agent, a notice, a
channel's own automatic answer such as SMS HELP): the row records the conversation's
ownership version at the time (so delivery can drop an AI reply once a person took over),
and the delivery job is enqueued once the transaction commits, never before the row
exists. A notice's kind and the message a reply answers are typed arguments; nothing else
writes those keys. A message a person already sent outside Switchboard (an agent's mail
from their own mail client) is recorded with `record_sent`: stored once per provider id,
never delivered."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit, insert_ignoring_conflict
from gateway.models import Conversation, Message, utcnow
from gateway.queues import DELIVER, OUTBOUND, SEND_RETRY, JobQueue


async def queue_outbound(
    session: AsyncSession,
    jobs: JobQueue,
    conversation: Conversation,
    *,
    author: str,
    text: str,
    agent_id: int | None = None,
    notice: str | None = None,
    reply_to: int | None = None,
    meta: dict[str, object] | None = None,
    attachments: list[dict[str, Any]] | None = None,
    delivered: bool = False,
) -> Message:
    """Store an outgoing message and deliver it once the transaction commits; or, when the
    message is `delivered` in this very transaction (a reply spoken in the waiting caller's
    own answer), store it as delivered, with no delivery job."""
    now = utcnow()
    recorded: dict[str, object] = dict(meta or {})
    if notice is not None:
        recorded["notice"] = notice
    if reply_to is not None:
        recorded["reply_to"] = reply_to
    message = Message(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        direction="outbound",
        author=author,
        agent_id=agent_id,
        channel=conversation.channel,
        text=text,
        attachments=list(attachments or []),
        meta=recorded,
        ownership_version=conversation.ownership_version,
        delivery_status="delivered" if delivered else "pending",
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    await session.flush()
    if delivered:
        return message
    message_id, conversation_id = message.id, conversation.id
    after_commit(
        session,
        lambda: jobs.enqueue_async(
            OUTBOUND, DELIVER, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        ),
    )
    return message


async def record_sent(
    session: AsyncSession,
    conversation: Conversation,
    *,
    author: str,
    text: str,
    provider_message_id: str,
    agent_id: int | None = None,
    html: str | None = None,
    meta: dict[str, object] | None = None,
) -> int | None:
    """Record an outgoing message that was sent outside Switchboard, so it is part of the
    conversation but never delivered again. Returns its id, or None when a message with
    the same `provider_message_id` is stored already (the same mail seen twice)."""
    now = utcnow()
    return await insert_ignoring_conflict(
        session,
        Message,
        {
            "organization_id": conversation.organization_id,
            "conversation_id": conversation.id,
            "direction": "outbound",
            "author": author,
            "agent_id": agent_id,
            "channel": conversation.channel,
            "text": text,
            "html": html,
            "attachments": [],
            "meta": dict(meta or {}),
            "provider_message_id": provider_message_id,
            "ownership_version": conversation.ownership_version,
            "delivery_status": "sent_externally",
            "routed_at": now,
            "created_at": now,
            "updated_at": now,
        },
        ("organization_id", "channel", "provider_message_id"),
    )
