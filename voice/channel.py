"""The voice channel adapter. A caller's turns reach intake through the webhooks
(`voice.routes`), not through `parse`; and what the AI, a notice or an agent says is spoken
by the call itself, in the TwiML of its next answer (`voice.listen` claims it there). So
`send`, called by the delivery job, only reports that the line waits for the live call
("queued"); with no call in progress nothing can reach the caller, and the message fails
visibly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from gateway.errors import BadInput, PermanentDeliveryError
from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.runtime import Services
from voice.models import VoiceCall


class VoiceChannel:
    name = "voice"

    def __init__(self, services: Services) -> None:
        self.services = services

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        raise BadInput("calls arrive through the voice webhooks")

    async def send(self, message: OutboundMessage) -> SendResult:
        async with self.services.db.transaction() as session:
            live = await session.scalar(
                select(VoiceCall.id)
                .where(
                    VoiceCall.conversation_id == message.conversation_id,
                    VoiceCall.phase != "ended",
                )
                .limit(1)
            )
        if live is None:
            raise PermanentDeliveryError(
                "the call has ended, so the caller could not hear this", provider_code="call_ended"
            )
        return SendResult(provider_message_id=None, status="queued")
