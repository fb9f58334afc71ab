"""The web chat channel's plug-in: one channel, `webchat`, that carries text only; its
blueprint serves the widget script and the visitors' WebSocket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.channels import ChannelSpec
from gateway.plugins import ChannelPlugin, channel_plugin
from messaging.webchat.channel import NAME, WebChatChannel

if TYPE_CHECKING:
    from quart import Blueprint


def _blueprints() -> Sequence[Blueprint]:
    from messaging.webchat.routes import webchat

    return (webchat,)


WEBCHAT: ChannelPlugin = channel_plugin(
    "webchat",
    ChannelSpec(name=NAME, label="Web chat", short="WEB", phrase="web chat"),
    lambda services: WebChatChannel(services.events),
    blueprints=_blueprints,
)
