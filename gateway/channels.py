"""The channel contract and the registry. A channel is a small object with a `name`, a
`parse` that turns a provider payload into `InboundMessage`s, and an `async send`. The
composition roots (`server.app`, `server.worker`) register the concrete channels in one
explicit list; everything else looks them up by name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from gateway.errors import ConfigurationError, UnknownChannel
from gateway.messages import InboundMessage, OutboundMessage, SendResult


@runtime_checkable
class Channel(Protocol):
    name: str

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        """Turn one verified provider payload into normalized inbound messages."""
        ...

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; raise TransientDeliveryError or PermanentDeliveryError."""
        ...


class ChannelRegistry:
    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.register(channel)

    def register(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ConfigurationError(f"two channels are named {channel.name!r}")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise UnknownChannel(f"no channel named {name!r} is registered") from None

    def names(self) -> list[str]:
        return sorted(self._channels)
