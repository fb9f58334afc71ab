"""The agents' live socket against a real Redis and database: it refuses other sites and
anonymous callers, greets with who is online, carries the organization's events (a claim
is seen by the others at once), and never another organization's; heartbeats, "viewing"
and typing reach the other agents; closing the last socket takes the agent offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from quart import Quart
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestWebsocketConnectionProtocol as Socket

from handoff import actions
from tests.desk.api.helpers import client_for, seed_conversation
from tests.support.api import waiting_conversation
from tests.support.factories import make_agent

SAME_ORIGIN = {"Origin": "http://localhost"}
Frame = dict[str, Any]


async def receive(ws: Socket, timeout: float = 5.0) -> Frame:
    frame: Frame = json.loads(await asyncio.wait_for(ws.receive(), timeout))
    return frame


async def receive_until(ws: Socket, wanted: Callable[[Frame], bool]) -> Frame:
    while True:
        frame = await receive(ws)
        if wanted(frame):
            return frame


async def closed_with(ws: Socket) -> int:
    with pytest.raises(WebsocketDisconnectError) as closed:
        while True:
            await asyncio.wait_for(ws.receive(), 5.0)
    return int(closed.value.args[0])


async def test_a_socket_from_another_site_is_refused(app: Quart, services, org) -> None:
    client, _ = await client_for(app, services.db, await make_agent(services.db, org))
    for origin in ({"Origin": "https://evil.example"}, {}):
        async with client.websocket("/api/live", headers=origin) as ws:
            assert (await receive(ws))["error"] == "origin_not_allowed"
            assert await closed_with(ws) == 4403


async def test_a_socket_without_a_session_is_refused(app: Quart) -> None:
    async with app.test_client().websocket("/api/live", headers=SAME_ORIGIN) as ws:
        assert (await receive(ws))["error"] == "not_authenticated"
        assert await closed_with(ws) == 4401


async def test_the_others_see_a_claim_at_once_and_nothing_of_other_organizations(
    app: Quart, services, org, other_org
) -> None:
    dana, lee = await make_agent(services.db, org), await make_agent(services.db, org, name="Lee")
    foreign = await waiting_conversation(services, other_org)
    mine = await waiting_conversation(services, org)
    lee_client, _ = await client_for(app, services.db, lee)

    async with lee_client.websocket("/api/live", headers=SAME_ORIGIN) as ws:
        hello = await receive(ws)
        assert hello["type"] == "hello" and hello["agent"]["id"] == lee.id
        assert hello["online"] == [lee.id]
        await actions.claim(services, await make_agent(services.db, other_org), foreign)
        await actions.claim(services, dana, mine)
        event = await receive_until(ws, lambda f: f["type"] == "state")

    assert event["conversation_id"] == mine
    assert (event["data"]["state"], event["data"]["assigned_agent_id"]) == ("assigned", dana.id)


async def test_viewing_typing_and_presence_reach_the_other_agents(
    app: Quart, services, org, other_org
) -> None:
    dana, lee = await make_agent(services.db, org, name="Dana"), await make_agent(services.db, org)
    seeded = await seed_conversation(services.db, org)
    foreign = await seed_conversation(services.db, other_org)
    dana_client, _ = await client_for(app, services.db, dana)
    lee_client, _ = await client_for(app, services.db, lee)

    async with lee_client.websocket("/api/live", headers=SAME_ORIGIN) as lee_ws:
        await receive(lee_ws)
        async with dana_client.websocket("/api/live", headers=SAME_ORIGIN) as dana_ws:
            await receive(dana_ws)
            came = await receive_until(
                lee_ws, lambda f: f["type"] == "presence" and f["data"]["agent_id"] == dana.id
            )
            assert came["data"]["online"] is True

            await dana_ws.send(json.dumps({"type": "heartbeat"}))
            online = await receive_until(dana_ws, lambda f: f["type"] == "online")
            assert online["online"] == sorted([dana.id, lee.id])

            await dana_ws.send(
                json.dumps({"type": "viewing", "conversation_id": seeded.conversation_id})
            )
            viewers = await receive_until(dana_ws, lambda f: f["type"] == "viewers")
            seen = await receive_until(lee_ws, lambda f: f["type"] == "viewing")
            assert viewers["viewers"] == [dana.id]
            assert seen["conversation_id"] == seeded.conversation_id
            assert (seen["data"]["agent_id"], seen["data"]["viewing"]) == (dana.id, True)
            view = await (
                await lee_client.get(f"/api/conversations/{seeded.conversation_id}")
            ).get_json()
            assert view["viewers"] == [{"id": dana.id, "name": "Dana"}]

            await dana_ws.send(
                json.dumps({"type": "typing", "conversation_id": seeded.conversation_id})
            )
            typing = await receive_until(lee_ws, lambda f: f["type"] == "typing")
            assert (typing["data"]["agent_id"], typing["data"]["author_name"]) == (dana.id, "Dana")

            await dana_ws.send(
                json.dumps({"type": "viewing", "conversation_id": foreign.conversation_id})
            )
            refused = await receive_until(dana_ws, lambda f: f["type"] == "error")
            assert refused["error"] == "not_found"
            await dana_ws.send("not json")
            assert (await receive_until(dana_ws, lambda f: f["type"] == "error"))[
                "error"
            ] == "bad_frame"

        stopped = await receive_until(lee_ws, lambda f: f["type"] == "viewing")
        gone = await receive_until(lee_ws, lambda f: f["type"] == "presence")
    assert (stopped["data"]["viewing"], stopped["data"]["viewers"]) == (False, [])
    assert (gone["data"]["agent_id"], gone["data"]["online"]) == (dana.id, False)


async def test_a_viewer_may_watch_but_not_type(app: Quart, services, org) -> None:
    viewer = await make_agent(services.db, org, role="viewer")
    seeded = await seed_conversation(services.db, org)
    client, _ = await client_for(app, services.db, viewer)

    async with client.websocket("/api/live", headers=SAME_ORIGIN) as ws:
        await receive(ws)
        await ws.send(json.dumps({"type": "typing", "conversation_id": seeded.conversation_id}))
        refused = await receive_until(ws, lambda f: f["type"] == "error")
    assert refused["error"] == "forbidden"


async def test_logging_out_ends_the_socket_at_its_next_heartbeat(app: Quart, services, org) -> None:
    agent = await make_agent(services.db, org)
    client, csrf = await client_for(app, services.db, agent)

    async with client.websocket("/api/live", headers=SAME_ORIGIN) as ws:
        await receive(ws)
        assert (await client.post("/api/logout", headers=csrf)).status_code == 200
        await ws.send(json.dumps({"type": "heartbeat"}))
        error = await receive_until(ws, lambda f: f["type"] == "error")
        assert error["error"] == "not_authenticated"
        assert await closed_with(ws) == 4401
