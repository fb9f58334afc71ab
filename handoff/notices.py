"""What the customer is told when ownership changes, as system messages delivered on the
conversation's own channel, worded per organization and channel by
`handoff.notice_templates`. Each notice kind also names the DOM event the web widget
raises on its host page."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.models import Conversation, Message, utcnow
from gateway.queues import DELIVER, OUTBOUND, SEND_RETRY, JobQueue
from gateway.runtime import Services
from handoff.notice_templates import DEFAULTS, notice_text

# Notice kinds beyond those of `handoff.notice_templates` (which resolves its own per
# organization and channel): kind -> str.format template.
TEMPLATES: dict[str, str] = {
    # the handoff policy (handoff/policy): the AI keeps the conversation for now
    "gather_details": (
        "I'll get a person to help. So they can help straight away, please describe the whole "
        "problem in one message: what happened, and any order or account number."
    ),
    "message_taken_unstaffed": (
        "Nobody from our team is online right now, so I've noted your message for them and "
        "someone will follow up here. Add any details that would help."
    ),
    "message_taken_after_hours": (
        "Our team is away right now and back {next_opening}. I've noted your message for "
        "them, and someone will follow up here then. Add any details that would help."
    ),
}


async def queue_outbound(
    session: AsyncSession,
    jobs: JobQueue,
    conversation: Conversation,
    *,
    author: str,
    text: str,
    agent_id: int | None = None,
    meta: dict[str, object] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Message:
    """Store an outgoing message and deliver it once the transaction commits."""
    now = utcnow()
    message = Message(
        organization_id=conversation.organization_id,
        conversation_id=conversation.id,
        direction="outbound",
        author=author,
        agent_id=agent_id,
        channel=conversation.channel,
        text=text,
        attachments=list(attachments or []),
        meta=dict(meta or {}),
        ownership_version=conversation.ownership_version,
        delivery_status="pending",
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    await session.flush()
    message_id, conversation_id = message.id, conversation.id
    after_commit(
        session,
        lambda: jobs.enqueue_async(
            OUTBOUND, DELIVER, message_id, retry=SEND_RETRY, conversation_id=conversation_id
        ),
    )
    return message


async def post_notice(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    kind: str,
    *,
    text: str | None = None,
    **values: str,
) -> Message:
    """Tell the customer about a change of hands (`text` overrides the template, which is
    the organization's own for the conversation's channel, or the channel's default)."""
    recorded: dict[str, str] = dict(values)
    if text:
        body = text
    elif kind in DEFAULTS:
        channel = services.channels.spec(conversation.channel)
        body, recorded = await notice_text(session, conversation, channel, kind, values)
    else:
        body = TEMPLATES[kind].format(**values)
    return await queue_outbound(
        session,
        services.jobs,
        conversation,
        author="system",
        text=body,
        meta={"notice": kind, **recorded},
    )
