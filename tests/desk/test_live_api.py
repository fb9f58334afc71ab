"""Agents' live updates: the event stream carries the organization's events (and never
another organization's), presence heartbeats list who is online, and an agent's typing
reaches the customer's conversation channel."""

from __future__ import annotations

import asyncio
import json

from gateway.events import conversation_channel
from handoff import actions
from tests.support.api import logged_in, waiting_conversation
from tests.support.factories import chat_message, intake_for, make_agent


async def next_event(connection) -> dict:  # type: ignore[no-untyped-def, type-arg]
    while True:
        chunk = (await asyncio.wait_for(connection.receive(), 5)).decode()
        for block in chunk.split("\n\n"):
            data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
            if data:
                return json.loads(data[0])


async def test_the_stream_carries_own_events_and_not_another_organizations(
    app,
    services,
    org,
    other_org,
) -> None:
    agent = await make_agent(services.db, org)
    client, _ = await logged_in(app, agent)
    foreign = await waiting_conversation(services, other_org)
    mine = await waiting_conversation(services, org)

    async with client.request("/api/events") as connection:
        await connection.send_complete()
        assert (await connection.receive()).startswith(b": connected")
        await actions.claim(services, await make_agent(services.db, other_org), foreign)
        await intake_for(services).receive(chat_message(other_org, "still there?"))
        await actions.claim(services, agent, mine)
        await intake_for(services).receive(chat_message(org, "thanks for taking this"))
        seen = [await next_event(connection) for _ in range(2)]
        await connection.disconnect()

    assert [(e["type"], e["conversation_id"]) for e in seen] == [("state", mine), ("message", mine)]
    assert seen[0]["data"]["state"] == "assigned"
    assert seen[1]["data"]["text"] == "thanks for taking this"


async def test_presence_lists_agents_who_sent_a_heartbeat(app, services, org) -> None:
    dana, lee = await make_agent(services.db, org), await make_agent(services.db, org, name="Lee")
    dana_client, dana_csrf = await logged_in(app, dana)
    lee_client, _ = await logged_in(app, lee)

    assert (await (await lee_client.get("/api/presence")).get_json())["online"] == []
    await dana_client.post("/api/presence", headers=dana_csrf)

    assert (await (await lee_client.get("/api/presence")).get_json())["online"] == [dana.id]


async def test_an_agents_typing_reaches_the_customers_conversation(app, services, org) -> None:
    agent = await make_agent(services.db, org)
    conversation_id = await waiting_conversation(services, org)
    client, csrf = await logged_in(app, agent)

    async with services.events.redis.pubsub() as widget:
        await widget.subscribe(conversation_channel(conversation_id))
        await widget.get_message(timeout=1)
        response = await client.post(f"/api/conversations/{conversation_id}/typing", headers=csrf)
        frame = await widget.get_message(ignore_subscribe_messages=True, timeout=2)

    assert response.status_code == 200
    assert frame is not None
    event = json.loads(frame["data"])
    assert (event["type"], event["data"]["author"], event["data"]["author_name"]) == (
        "typing",
        "agent",
        "Dana",
    )
