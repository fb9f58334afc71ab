"""The web chat channel adapter. Sending means publishing the message to the conversation's
live channel, where the visitor's open sockets (on any gateway process) pick it up; a
visitor who is away sees it in the history on their next visit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import BadInput
from gateway.events import Event, EventPublisher
from gateway.messages import InboundMessage, OutboundMessage, SendResult

NAME = "webchat"


class WebChatChannel:
    name = NAME

    def __init__(self, events: EventPublisher) -> None:
        self.events = events

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        """A verified widget frame: {"visitor_id", "id", "text", "page"}; the page's path
        (already checked by `frames.page_path`) is kept in the message's meta."""
        text = payload.get("text")
        frame_id = payload.get("id")
        if not isinstance(text, str) or not text.strip():
            raise BadInput("a chat message needs some text", code="empty_message")
        if not isinstance(frame_id, str) or not 1 <= len(frame_id) <= 64:
            raise BadInput("a chat message needs an id of 1 to 64 characters", code="bad_frame")
        visitor_id = str(payload["visitor_id"])
        page = payload.get("page")
        return [
            InboundMessage(
                organization_id=organization_id,
                channel=NAME,
                sender_kind="web",
                sender_address=visitor_id,
                text=text.strip(),
                provider_message_id=f"{visitor_id}:{frame_id}",
                meta={"page": page} if isinstance(page, str) and page else {},
            )
        ]

    async def send(self, message: OutboundMessage) -> SendResult:
        listeners = await self.events.publish(
            Event(
                "message",
                message.organization_id,
                message.conversation_id,
                {
                    "message_id": message.message_id,
                    "author": message.author,
                    "author_name": message.author_name,
                    "text": message.text,
                    "notice": message.notice,
                    "channel": NAME,
                },
            )
        )
        return SendResult(
            provider_message_id=f"webchat:{message.message_id}",
            status="delivered" if listeners else "sent",
        )
