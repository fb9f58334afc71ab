"""The channel plug-in contract: a tiny channel, declared as one plug-in object and added
with one line to the tuple of plug-ins, takes a customer's message in through intake and
sends an agent's reply out through delivery; the core words its notices as it declares,
tells the pages its label, refuses images it does not declare, and checks that every
declared channel has an adapter and every adapter a declaration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from quart import Quart

from gateway.channels import ChannelSpec
from gateway.delivery import deliver_message
from gateway.errors import BadInput, ConfigurationError
from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.models import Conversation
from gateway.plugins import ChannelPlugin, build_registry, channel_plugin, check_jobs
from gateway.runtime import Services
from gateway.settings import Settings
from handoff import actions
from handoff.notices import post_notice
from server.app import create_app
from server.plugins import PLUGINS
from tests.support.factories import intake_for, make_agent


class Loft:
    """A channel whose provider is a list: what it sent, in order."""

    name = "pigeon"

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        return [
            InboundMessage(
                organization_id=organization_id,
                channel=self.name,
                sender_kind="phone",
                sender_address=str(payload["from"]),
                text=str(payload["text"]),
                provider_message_id=str(payload["id"]),
            )
        ]

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(provider_message_id=f"coo-{message.message_id}")


def pigeon(loft: Loft) -> ChannelPlugin:
    return channel_plugin(
        "pigeon",
        ChannelSpec(
            name="pigeon",
            label="Pigeon post",
            short="COO",
            phrase="pigeon post",
            notices={"agent_joined": "{agent} has a pigeon ready for you."},
        ),
        lambda services: loft,
    )


async def test_a_channel_added_with_one_line_takes_a_message_in_and_a_reply_out(
    services: Services, org
) -> None:
    loft = Loft()
    services.channels = build_registry((*PLUGINS, pigeon(loft)), services)  # the one line

    [inbound] = services.channels.get("pigeon").parse(
        org.id, {"from": "+15550001234", "text": "Coo?", "id": "p-1"}
    )
    received = await intake_for(services).receive(inbound)
    agent = await make_agent(services.db, org, name="Li")
    async with services.db.transaction() as session:
        conversation = await session.get(Conversation, received.conversation_id)
        assert conversation is not None and conversation.channel == "pigeon"
        notice = await post_notice(session, services, conversation, "agent_joined", agent="Li")
    reply = await actions.reply(services, agent, received.conversation_id, "Coo to you too")

    assert await deliver_message(services, notice.id) == "sent"
    assert await deliver_message(services, reply.id) == "sent"
    assert [(m.text, m.recipient_address) for m in loft.sent] == [
        ("Li has a pigeon ready for you.", "+15550001234"),
        ("Coo to you too", "+15550001234"),
    ]
    with pytest.raises(BadInput) as refused:
        await actions.reply(services, agent, received.conversation_id, "see", media=["k" * 32])
    assert refused.value.code == "media_not_supported"


async def test_the_pages_get_the_label_from_the_plugin(services: Services, tmp_path) -> None:
    settings = Settings(
        database_url=services.db.url,
        redis_url=services.settings.redis_url,
        secret_key="test-secret",
        var_dir=tmp_path,
    )
    app: Quart = create_app(settings, plugins=(*PLUGINS, pigeon(Loft())))
    async with app.test_app():
        client = app.test_client()
        listed = await (await client.get("/api/channels")).get_json()
        script = await (await client.get("/channels.js")).get_data(as_text=True)

    [declared] = [c for c in listed["channels"] if c["name"] == "pigeon"]
    assert (declared["label"], declared["short"], declared["accepts_media"]) == (
        "Pigeon post",
        "COO",
        False,
    )
    assert script.startswith("window.SB_CHANNELS = ") and '"Pigeon post"' in script


async def test_a_declaration_and_its_adapters_must_match(services: Services) -> None:
    undeclared = ChannelPlugin("stray", (), lambda services: [Loft()])
    unbuilt = ChannelPlugin("empty", pigeon(Loft()).channels, lambda services: [])
    for plugin in (undeclared, unbuilt):
        with pytest.raises(ConfigurationError):
            build_registry((plugin,), services)
    with pytest.raises(ConfigurationError):
        build_registry((pigeon(Loft()), pigeon(Loft())), services)
    with pytest.raises(ConfigurationError):
        check_jobs((ChannelPlugin("typo", (), lambda services: [], jobs=("gateway.nope",)),))
    check_jobs(PLUGINS)
