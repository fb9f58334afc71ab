"""How a delivery ends when the channel does not simply send: a transient error leaves the
message waiting with the number and time of the next retry; an error no channel should
raise ends it failed with what was raised, never stuck `sending`; and the desk's words
for each state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from rq.job import Job

from desk.delivery_state import describe
from gateway.channels import ChannelSpec
from gateway.delivery import NextTry, _next_try, deliver_message
from gateway.errors import TransientDeliveryError
from gateway.messages import InboundMessage, OutboundMessage, SendResult
from gateway.models import Conversation, Message
from gateway.plugins import ChannelPlugin, build_registry, channel_plugin
from gateway.queues import SEND_RETRY
from gateway.runtime import Services
from handoff import actions
from server.plugins import PLUGINS
from tests.support.factories import intake_for, make_agent


class Flaky:
    """A channel whose provider first cannot be reached, then breaks with a bug."""

    name = "flaky"

    def __init__(self) -> None:
        self.errors: list[Exception] = [
            TransientDeliveryError("could not reach Flaky: ConnectionResetError"),
            KeyError("parts"),
        ]

    def parse(self, organization_id: int, payload: Mapping[str, Any]) -> list[InboundMessage]:
        return [
            InboundMessage(
                organization_id=organization_id,
                channel=self.name,
                sender_kind="phone",
                sender_address="+15550001234",
                text="Hello?",
                provider_message_id="f-1",
            )
        ]

    async def send(self, message: OutboundMessage) -> SendResult:
        raise self.errors.pop(0)


def flaky(channel: Flaky) -> ChannelPlugin:
    spec = ChannelSpec(name="flaky", label="Flaky", short="FLK", phrase="flaky post")
    return channel_plugin("flaky", spec, lambda services: channel)


async def test_a_retry_is_announced_and_a_channel_bug_ends_failed(services: Services, org) -> None:
    channel = Flaky()
    services.channels = build_registry((*PLUGINS, flaky(channel)), services)
    [inbound] = services.channels.get("flaky").parse(org.id, {})
    received = await intake_for(services).receive(inbound)
    agent = await make_agent(services.db, org, name="Li")
    await actions.take_manual_control(services, agent, received.conversation_id)
    reply = await actions.reply(services, agent, received.conversation_id, "On it")

    with pytest.raises(TransientDeliveryError):
        await deliver_message(services, reply.id, next_try=NextTry(2, 15))
    async with services.db.transaction() as session:
        waiting = await session.get(Message, reply.id)
    assert waiting is not None and waiting.delivery_status == "pending"
    assert waiting.delivery_attempts == 2 and waiting.next_attempt_at is not None
    shown = describe(waiting, "phone", waiting.next_attempt_at - timedelta(seconds=15))
    assert shown is not None
    assert shown["text"] == "Retrying (2 of 5), next try in 15 s"
    assert shown["detail"] == "could not reach Flaky: ConnectionResetError"

    assert await deliver_message(services, reply.id) == "failed"
    async with services.db.transaction() as session:
        failed = await session.get(Message, reply.id)
        conversation = await session.get(Conversation, received.conversation_id)
    assert failed is not None and conversation is not None
    assert (failed.delivery_status, failed.error_code) == ("failed", "unexpected")
    assert failed.error_detail == "KeyError: 'parts'" and failed.next_attempt_at is None
    assert conversation.needs_attention
    assert conversation.attention_reason == (
        "A message was not delivered: something went wrong while sending."
    )
    shown = describe(failed, "phone")
    assert shown is not None
    assert (shown["text"], shown["can_retry"], shown["can_dismiss"]) == (
        "Not sent: something went wrong while sending",
        True,
        True,
    )


def test_the_next_try_is_read_from_the_running_job(services: Services) -> None:
    job = Job.create("gateway.delivery.deliver", args=(1,), connection=services.jobs.redis)
    job.retries_left, job.retry_intervals = SEND_RETRY.max, SEND_RETRY.intervals
    assert _next_try(job) == NextTry(1, 2.0)  # the first try failing: retry 1 in 2 s
    job.retries_left = 2
    assert _next_try(job) == NextTry(4, 60.0)
    job.retries_left = 0
    assert _next_try(job) is None and _next_try(None) is None  # the last try, or no job
