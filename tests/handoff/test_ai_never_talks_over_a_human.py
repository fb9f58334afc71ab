"""An AI reply computed before a person took over is never sent: it is dropped when it is
stored, or when it is about to be delivered, and a takeover racing the AI's computation
keeps the reply off the customer's channel."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio.client import PubSub
from sqlalchemy import select

from gateway.delivery import deliver_message
from gateway.events import conversation_channel
from gateway.models import Message
from gateway.queues import OUTBOUND
from gateway.runtime import Services
from handoff import actions
from handoff.ai import turn
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge
from handoff.ai.offline_responder import OfflineResponder
from handoff.ai.responder import ResponderReply, ResponderRequest
from handoff.ai.turn import compute_reply, store_reply
from tests.support.factories import chat_message, intake_for, make_agent


async def ai_messages(services: Services, conversation_id: int) -> list[Message]:
    async with services.db.transaction() as session:
        rows = await session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.author == "ai"
            )
        )
        return list(rows)


async def test_a_reply_computed_before_a_takeover_is_not_stored(services: Services, org) -> None:
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "hello"))
    reply = await compute_reply(services, received.conversation_id, version=1)
    assert reply is not None

    await actions.take_manual_control(services, agent, received.conversation_id)

    assert await store_reply(services, received.conversation_id, 1, reply) is None
    assert await ai_messages(services, received.conversation_id) == []


async def test_a_stored_reply_is_dropped_at_delivery_after_a_takeover(
    services: Services, org
) -> None:
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "hello"))
    reply = await compute_reply(services, received.conversation_id, version=1)
    assert reply is not None
    message_id = await store_reply(services, received.conversation_id, 1, reply)
    assert message_id is not None

    await actions.take_manual_control(services, agent, received.conversation_id)

    assert await deliver_message(services, message_id) == "dropped"
    [dropped] = await ai_messages(services, received.conversation_id)
    assert dropped.delivery_status == "dropped"


async def drain(pubsub: PubSub, quiet: float = 0.3) -> list[dict[str, Any]]:
    """Every event the subscriber got, until the channel stays quiet for `quiet` seconds."""
    frames: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + 5
    while asyncio.get_running_loop().time() < deadline:
        frame = await pubsub.get_message(timeout=quiet)
        if frame is None:
            break
        if frame["type"] == "message":
            frames.append(json.loads(frame["data"]))
    return frames


class GatedResponder:
    """The real offline responder, held at a gate so a takeover lands mid-computation."""

    def __init__(self, inner: OfflineResponder) -> None:
        self.inner = inner
        self.computing = asyncio.Event()
        self.release = asyncio.Event()

    async def respond(self, request: ResponderRequest) -> ResponderReply:
        reply = await self.inner.respond(request)
        self.computing.set()
        await self.release.wait()
        return reply


async def test_a_takeover_while_the_ai_is_computing_keeps_its_reply_off_the_wire(
    services: Services, org, monkeypatch
) -> None:
    await load_knowledge(services.db, org.id, demo_knowledge_paths())
    agent = await make_agent(services.db, org)
    received = await intake_for(services).receive(chat_message(org, "how long is shipping?"))
    gate = GatedResponder(OfflineResponder(services.db))
    monkeypatch.setattr(turn, "responder_for", lambda _services, _threshold: gate)

    async with services.events.redis.pubsub() as widget:
        await widget.subscribe(conversation_channel(received.conversation_id))
        ai = asyncio.create_task(turn.ai_turn(services, received.conversation_id, 1))
        await asyncio.wait_for(gate.computing.wait(), 10)
        await actions.take_manual_control(services, agent, received.conversation_id)
        gate.release.set()
        assert await ai is None
        for job in services.jobs.queue(OUTBOUND).get_jobs():
            await deliver_message(services, int(job.args[0]))
        frames = await drain(widget)

    assert await ai_messages(services, received.conversation_id) == []
    assert [f for f in frames if f["type"] == "message" and f["data"]["author"] == "ai"] == []
    assert any(f["type"] == "state" and f["data"]["state"] == "manual" for f in frames)
