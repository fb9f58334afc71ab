"""The email channel adapter: inbound mail arrives through the SMTP server and IMAP
intake (not through `parse`, which is only the contract's generic entry), replies leave
through `outbound.send`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from email_channel import outbound
from email_channel.threads import CHANNEL
from gateway.errors import BadInput
from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.runtime import Services


class EmailChannel:
    name = CHANNEL

    def __init__(self, services: Services) -> None:
        self.services = services

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        raise BadInput("mail arrives through the inbound SMTP server or IMAP intake")

    async def send(self, message: OutboundMessage) -> SendResult:
        return await outbound.send(self.services, message)
