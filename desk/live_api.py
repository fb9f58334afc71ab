"""Live updates for agents: a Server-Sent Events stream of the organization's events (new
messages, state changes, typing, presence, delivery), a presence heartbeat, and the agent's
typing signal, which the customer's widget shows. Served from any gateway process; the
events travel over Redis pub/sub. A stream ends within a second of its session ending
(logout, deactivation, a new password or role), on a session-revoked event."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from quart import Blueprint, jsonify, make_response, request
from quart.typing import ResponseReturnValue

from gateway import presence
from gateway.auth import (
    COOKIE,
    SESSION_REVOKED,
    Role,
    current_agent,
    login_required,
    require_role,
    resolve_session,
)
from gateway.events import Event, org_channel
from gateway.openapi import INTEGER, OK, array, documented, obj
from gateway.web import app_services, database
from handoff.context import load_context

live = Blueprint("live_api", __name__)
KEEPALIVE_SECONDS = 15.0
ONLINE = obj(["online"], online=array(INTEGER))


@live.get("/api/events")
@login_required()
@documented(
    "Server-Sent Events of the organization (the same events as the live socket)",
    tags=["live"],
    description="text/event-stream: `event: <type>` and `data: <event JSON>` per event, "
    "after a first `hello` (sent once subscribed; reload what the page shows then).",
)
async def event_stream() -> ResponseReturnValue:
    agent = current_agent()
    organization_id, agent_id = agent.organization_id, agent.id
    token = request.cookies.get(COOKIE, "")
    state = app_services()  # the stream runs outside the app context
    hub, db, redis = state.hub, state.services.db, state.services.events.redis

    async def stream() -> AsyncIterator[bytes]:
        async with hub.subscribe(org_channel(organization_id)) as queue:
            # Subscribed: from here on no event is missed, so the page reloads its lists
            # when it reads this hello (as it does on the socket's).
            online = await presence.online_agents(redis, organization_id)
            hello = json.dumps({"type": "hello", "online": online})
            yield f": connected\n\nevent: hello\ndata: {hello}\n\n".encode()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event.type == SESSION_REVOKED:
                    # For the streams, not the page: end this one if its session ended.
                    if event.data.get("agent_id") == agent_id and (
                        await resolve_session(db, token) is None
                    ):
                        yield b"event: session_ended\ndata: {}\n\n"
                        return
                    continue
                yield f"event: {event.type}\ndata: {event.to_json()}\n\n".encode()

    response = await make_response(
        stream(), {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    response.timeout = None  # type: ignore[union-attr]
    return response


@live.post("/api/presence")
@login_required()
@documented(
    "Presence heartbeat (the live socket's heartbeat frame does the same)",
    tags=["live"],
    response=ONLINE,
)
async def heartbeat() -> ResponseReturnValue:
    agent = current_agent()
    services = app_services().services
    await presence.heartbeat(
        services.events.redis, services.events, agent.organization_id, agent.id, agent.name
    )
    return jsonify(
        {"online": await presence.online_agents(services.events.redis, agent.organization_id)}
    )


@live.get("/api/presence")
@login_required()
@documented("Who is online", tags=["live"], response=ONLINE)
async def who_is_online() -> ResponseReturnValue:
    services = app_services().services
    online = await presence.online_agents(services.events.redis, current_agent().organization_id)
    return jsonify({"online": online})


@live.post("/api/conversations/<int:conversation_id>/typing")
@login_required()
@documented(
    "Tell the customer and the other agents that this agent is typing",
    tags=["live"],
    response=OK,
)
async def agent_typing(conversation_id: int) -> ResponseReturnValue:
    agent = current_agent()
    async with database().transaction() as session:
        await load_context(session, conversation_id, agent.organization_id)  # 404 if not ours
    require_role(Role.AGENT, agent)
    await app_services().services.events.publish(
        Event(
            "typing",
            agent.organization_id,
            conversation_id,
            {"author": "agent", "agent_id": agent.id, "author_name": agent.name},
        )
    )
    return jsonify({"ok": True})
