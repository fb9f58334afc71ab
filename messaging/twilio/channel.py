"""The SMS and WhatsApp channel adapters. One class serves both: they share Twilio's
Messaging API, webhooks and status callbacks, and differ in the address prefix and the
WhatsApp customer-care window (both declared, with the media they take, in
`messaging.twilio.plugin`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.runtime import Services
from messaging.twilio import outbound
from messaging.twilio.addresses import SMS, WHATSAPP, ChannelName
from messaging.twilio.inbound import parse_webhook


class TwilioMessagingChannel:
    def __init__(self, name: ChannelName, services: Services) -> None:
        self.name: str = name
        self.services = services

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        """A verified webhook's form parameters."""
        return [parse_webhook(self.name, organization_id, payload)]

    async def send(self, message: OutboundMessage) -> SendResult:
        return await outbound.send(self.services, self.name, message)


def twilio_channels(services: Services) -> list[TwilioMessagingChannel]:
    return [TwilioMessagingChannel(SMS, services), TwilioMessagingChannel(WHATSAPP, services)]
