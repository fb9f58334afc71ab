"""What the customer is told when ownership changes, as system messages delivered on the
conversation's own channel, worded per organization and channel by
`handoff.notice_templates`. Each notice kind also names the DOM event the web widget
raises on its host page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Conversation, Message
from gateway.outbound import queue_outbound
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
        notice=kind,
        meta=dict(recorded),
    )
