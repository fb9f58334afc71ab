"""The agents' live socket, `WEBSOCKET /api/live`: the organization's events as they happen
(new messages, changes of hands, deliveries, notes, typing, presence, who views what), and
the page's own signals (heartbeat, "I am viewing this conversation", typing). The session
cookie authenticates it; the Origin must be the gateway's own, since browsers send cookies
on cross-site WebSocket handshakes and CSRF tokens do not apply. Events come from the
process's one Redis subscription (`EventHub`), so any gateway process serves any agent.

Client frames: `{"type": "heartbeat"}`, `{"type": "viewing", "conversation_id": N|null}`,
`{"type": "typing", "conversation_id": N}`, `{"type": "ping"}`. Server frames: `hello`,
`online` (after a heartbeat), `viewers` (after viewing), `pong`, `error`, and every live
event as `{"type", "organization_id", "conversation_id", "data"}`. When the agent's session ends
(logout, deactivation, a new password or role), a session-revoked event makes the socket
check its session at once and close with 4401, on whichever process it is open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, websocket
from redis.exceptions import RedisError

from desk import viewing
from gateway import presence
from gateway.auth import COOKIE, SESSION_REVOKED, Role, has_role, resolve_session
from gateway.errors import BadInput, SwitchboardError
from gateway.events import Event, org_channel
from gateway.inputs import decode_json, parse_id
from gateway.models import Agent, utcnow
from gateway.openapi import documented
from gateway.origins import normalize_origin
from gateway.web import AppServices, app_services
from handoff.context import load_context

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
TYPING_INTERVAL_SECONDS = 2.0
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_ORIGIN = 4403
CLOSE_UNAVAILABLE = 4503

live_socket = Blueprint("live_socket", __name__)


class SocketClosed(Exception):
    """The socket was closed on purpose; the handler ends."""


def same_origin(origin: str | None, host: str | None, public_url: str | None) -> bool:
    """True when `origin` is the gateway itself: the Host it was reached at, or its
    configured public URL."""
    normalized = normalize_origin(origin) if origin else None
    if normalized is None:
        return False
    own: set[str | None] = set()
    if host:
        own |= {normalize_origin(f"http://{host}"), normalize_origin(f"https://{host}")}
    if public_url:
        parts = urlsplit(public_url)
        own.add(normalize_origin(f"{parts.scheme}://{parts.netloc}"))
    return normalized in own


class AgentSocket:
    def __init__(self, state: AppServices, agent: Agent, token: str) -> None:
        self.state = state
        self.agent = agent
        self.token = token
        self.viewing: int | None = None
        self.known: set[int] = set()  # conversation ids checked to be the organization's
        self.last_typing: dict[int, float] = {}
        self.lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any] | str) -> None:
        async with self.lock:
            await websocket.send(
                frame if isinstance(frame, str) else json.dumps(frame, default=str)
            )

    async def error(self, code: str, message: str) -> None:
        await self.send({"type": "error", "error": code, "message": message})

    async def run(self) -> None:
        services = self.state.services
        redis, org = services.events.redis, self.agent.organization_id
        async with self.state.hub.subscribe(org_channel(org)) as queue:
            await viewing.socket_opened(redis, org, self.agent.id)
            forwarder: asyncio.Task[None] | None = None
            receiver: asyncio.Task[None] | None = None
            try:
                await self.heartbeat(reply=False)
                await self.send(
                    {
                        "type": "hello",
                        "agent": {
                            "id": self.agent.id,
                            "name": self.agent.name,
                            "role": self.agent.role,
                            "time_zone": self.agent.time_zone,
                        },
                        "online": await presence.online_agents(redis, org),
                        "server_time": utcnow().isoformat(),
                    }
                )
                # Events that arrived meanwhile wait in the queue and follow the hello.
                forwarder = asyncio.create_task(self.forward(queue))
                receiver = asyncio.create_task(self.receive())
                done, _ = await asyncio.wait(
                    {forwarder, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    task.result()  # a revoked session ends the forwarder, not an error
            finally:
                for running in (forwarder, receiver):
                    if running is not None:
                        running.cancel()
                        with contextlib.suppress(asyncio.CancelledError, SocketClosed):
                            await running
                await self.leave()

    async def receive(self) -> None:
        while True:
            await self.handle(await websocket.receive())

    async def leave(self) -> None:
        services, org = self.state.services, self.agent.organization_id
        with contextlib.suppress(RedisError):
            if self.viewing is not None:
                await viewing.stop(
                    services.events, org, self.viewing, self.agent.id, self.agent.name
                )
            if await viewing.socket_closed(services.events.redis, org, self.agent.id) == 0:
                await presence.leave(
                    services.events.redis, services.events, org, self.agent.id, self.agent.name
                )

    async def forward(self, queue: asyncio.Queue[Event]) -> None:
        """Pass the organization's events on; returns once this socket's session ended."""
        while True:
            event = await queue.get()
            if event.type == SESSION_REVOKED:
                if event.data.get("agent_id") == self.agent.id and not await self.still_valid():
                    return
                continue  # for the streams, not for the page
            await self.send(event.to_json())

    async def still_valid(self) -> bool:
        """Check the session again; when it ended, say so and close the socket."""
        found = await resolve_session(self.state.services.db, self.token)
        if found is not None:
            self.agent = found[0]  # a role may have changed
            return True
        await self.error("not_authenticated", "the session ended; log in again")
        await websocket.close(CLOSE_NOT_AUTHENTICATED)
        return False

    async def handle(self, raw: str | bytes) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            await self.error("frame_too_large", f"frames may be at most {MAX_FRAME_BYTES} bytes")
            return
        try:
            frame = decode_json(raw, "the frame")
        except BadInput as exc:
            await self.error("bad_frame", exc.message)
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        try:
            if kind == "heartbeat":
                await self.heartbeat(reply=True)
            elif kind == "viewing":
                await self.view(frame.get("conversation_id"))
            elif kind == "typing":
                await self.typing(frame.get("conversation_id"))
            elif kind == "ping":
                await self.send({"type": "pong"})
            else:
                await self.error(
                    "bad_frame", "send JSON with a type: heartbeat, viewing, typing or ping"
                )
        except SwitchboardError as exc:
            await self.error(exc.code, exc.message)

    async def heartbeat(self, *, reply: bool) -> None:
        services, org = self.state.services, self.agent.organization_id
        if not await self.still_valid():
            raise SocketClosed
        redis = services.events.redis
        await presence.heartbeat(redis, services.events, org, self.agent.id, self.agent.name)
        if self.viewing is not None:
            await viewing.refresh(redis, org, self.viewing, self.agent.id)
        if reply:
            await self.send({"type": "online", "online": await presence.online_agents(redis, org)})

    async def check(self, conversation_id: object) -> int:
        if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
            raise SwitchboardError("send a conversation_id number", code="bad_frame")
        try:
            conversation_id = parse_id(conversation_id, "conversation_id")
        except BadInput as exc:
            raise SwitchboardError(exc.message, code="bad_frame") from None
        if conversation_id not in self.known:
            async with self.state.services.db.transaction() as session:
                await load_context(session, conversation_id, self.agent.organization_id)
            self.known.add(conversation_id)
        return conversation_id

    async def view(self, conversation_id: object) -> None:
        events, org = self.state.services.events, self.agent.organization_id
        target = None if conversation_id is None else await self.check(conversation_id)
        if self.viewing is not None and self.viewing != target:
            await viewing.stop(events, org, self.viewing, self.agent.id, self.agent.name)
        self.viewing = target
        if target is not None:
            current = await viewing.start(events, org, target, self.agent.id, self.agent.name)
            await self.send({"type": "viewers", "conversation_id": target, "viewers": current})

    async def typing(self, conversation_id: object) -> None:
        target = await self.check(conversation_id)
        if not has_role(self.agent, Role.AGENT):
            raise SwitchboardError("a viewer cannot reply", code="forbidden")
        now = time.monotonic()
        if now - self.last_typing.get(target, 0.0) < TYPING_INTERVAL_SECONDS:
            return
        self.last_typing[target] = now
        await self.state.services.events.publish(
            Event(
                "typing",
                self.agent.organization_id,
                target,
                {"author": "agent", "agent_id": self.agent.id, "author_name": self.agent.name},
            )
        )


@live_socket.websocket("/api/live")
@documented(
    "The agents' live socket",
    tags=["live"],
    description=(
        "WebSocket; authenticated by the session cookie, and refused (close 4403) unless the "
        "Origin is the gateway's own; close 4401 when not logged in. " + (__doc__ or "")
    ),
)
async def agent_live_socket() -> None:
    state = app_services()
    await websocket.accept()
    settings = state.services.settings
    if not same_origin(
        websocket.headers.get("Origin"), websocket.headers.get("Host"), settings.public_url
    ):
        await websocket.send(json.dumps({"type": "error", "error": "origin_not_allowed"}))
        await websocket.close(CLOSE_ORIGIN)
        return
    token = websocket.cookies.get(COOKIE, "")
    found = await resolve_session(state.services.db, token) if token else None
    if found is None:
        await websocket.send(json.dumps({"type": "error", "error": "not_authenticated"}))
        await websocket.close(CLOSE_NOT_AUTHENTICATED)
        return
    try:
        await AgentSocket(state, found[0], token).run()
    except SocketClosed:
        pass
    except RedisError:
        log.warning("an agent socket lost its live events", exc_info=True)
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_UNAVAILABLE)
