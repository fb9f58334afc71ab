"""What the customer is told when ownership changes, as system messages delivered on the
conversation's own channel. Each notice kind also names the DOM event the web widget
raises on its host page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.db import after_commit
from gateway.models import Conversation, Message, utcnow
from gateway.queues import DELIVER, OUTBOUND, SEND_RETRY, JobQueue

TEMPLATES = {
    "handoff": "I'm connecting you to a person. Someone from our team will reply here shortly.",
    "agent_joined": "{agent} joined the conversation.",
    "back_to_ai": "You're back with our assistant. Ask me anything, or ask for a person again.",
    "nobody_available": (
        "Sorry, nobody from our team is free right now. You're back with our assistant; "
        "ask for a person again any time."
    ),
    "resolved": "This conversation is marked as resolved. Write again any time.",
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
    jobs: JobQueue,
    conversation: Conversation,
    kind: str,
    *,
    text: str | None = None,
    **values: str,
) -> Message:
    """Tell the customer about a change of hands (`text` overrides the template)."""
    body = text or TEMPLATES[kind].format(**values)
    return await queue_outbound(
        session, jobs, conversation, author="system", text=body, meta={"notice": kind, **values}
    )
