"""What the customer is told when ownership changes, as system messages delivered on the
conversation's own channel, worded per organization and channel by
`handoff.notice_templates`. Each notice kind also names the DOM event the web widget
raises on its host page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Conversation, Message
from gateway.outbound import queue_outbound
from gateway.runtime import Services
from handoff.notice_templates import notice_text


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
    else:
        channel = services.channels.spec(conversation.channel)
        body, recorded = await notice_text(session, conversation, channel, kind, values)
    return await queue_outbound(
        session,
        services.jobs,
        conversation,
        author="system",
        text=body,
        notice=kind,
        meta=dict(recorded),
    )
