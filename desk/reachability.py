"""What the composer says about the conversation's channel: its name, the address replies
go to, and, when a reply cannot reach the customer now, why (an opt-out such as an SMS
STOP, or a rule the channel declares, such as WhatsApp's 24-hour window), as
`gateway.reachability` decides for replies too. The channel's name is the one its plug-in
declares."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import Conversation
from gateway.reachability import why_unreachable
from gateway.web import app_services


async def composer_status(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    """`{channel, channel_name, address, reachable, reason, message}` for the composer."""
    channels = app_services().services.channels
    name = channels.spec(conversation.channel).phrase
    found = await why_unreachable(session, conversation, channels)
    return {
        "channel": conversation.channel,
        "channel_name": name,
        "address": conversation.address,
        "reachable": found is None,
        "reason": None if found is None else found.code,
        "message": f"Replies go to the customer by {name}." if found is None else found.reason,
    }
