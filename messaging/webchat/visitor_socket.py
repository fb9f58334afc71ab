"""One visitor's open widget socket, after the widget key and the page's origin were
checked. It identifies the visitor (hello → welcome), then does two things at once: turns
the visitor's frames into intake calls and acknowledgements, and forwards the live events
of the visitor's conversation (replies, notices, state, typing) from the event hub. The
socket follows the conversation channel as soon as a conversation exists: at once for a
returning visitor, after the first message for a new one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, NoReturn

from quart import Websocket
from redis.exceptions import RedisError

from gateway.channels import Channel
from gateway.errors import NotAuthenticated, RateLimited, SwitchboardError
from gateway.events import Event, conversation_channel
from gateway.ownership import HUMAN_STATES, State
from gateway.web import AppServices
from messaging.webchat import frames, store
from messaging.webchat.channel import NAME as CHANNEL
from messaging.webchat.rate_limit import NewVisitorLimit, VisitorRateLimit
from messaging.webchat.suggestions import suggested_questions
from messaging.webchat.tokens import Visitor, VisitorTokens

log = logging.getLogger(__name__)

HELLO_TIMEOUT_SECONDS = 30.0
TYPING_INTERVAL_SECONDS = 2.0
FORWARDED_TYPING = frozenset({"ai", "agent"})


class SocketClosed(Exception):
    """The socket was closed on purpose; the handler ends."""


class VisitorSocket:
    def __init__(self, ws: Websocket, state: AppServices, widget: store.Widget) -> None:
        self.ws = ws
        self.state = state
        self.widget = widget
        settings = state.services.settings
        self.settings = settings
        self.tokens = VisitorTokens(
            settings.require_secret_key(), settings.widget_token_max_age_days
        )
        self.rate_limit = VisitorRateLimit(
            state.services.events.redis, settings.widget_messages_per_minute
        )
        self.new_visitors = NewVisitorLimit(
            state.services.events.redis, settings.widget_new_visitors_per_hour
        )
        self.channel: Channel = state.services.channels.get(CHANNEL)
        self.visitor: Visitor | None = None
        self.conversation_id: int | None = None
        self._send_lock = asyncio.Lock()
        self._last_typing = 0.0
        self._subscriptions = contextlib.AsyncExitStack()
        self._events: asyncio.Queue[Event] | None = None
        self._forwarder: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_json(frame)

    async def close(self, code: int, frame: dict[str, Any] | None = None) -> NoReturn:
        if frame is not None:
            await self.send(frame)
        await self.ws.close(code)
        raise SocketClosed

    async def run(self) -> None:
        """Serve the socket until the visitor leaves or it is closed on purpose."""
        try:
            async with self._subscriptions:
                try:
                    await self._greet()
                    while True:
                        await self._handle(await self._receive())
                except SocketClosed:
                    pass
                finally:
                    if self._forwarder is not None:
                        self._forwarder.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await self._forwarder
        except RedisError:
            # Live events are unavailable; the widget reconnects with backoff.
            log.warning("a widget socket lost its live events", exc_info=True)
            with contextlib.suppress(Exception):
                await self.ws.close(frames.CLOSE_UNAVAILABLE)

    # --- hello → welcome -------------------------------------------------------------------

    async def _greet(self) -> None:
        self.visitor = await self._identify()
        found = await store.find_conversation(
            self.state.services.db, self.widget.organization_id, self.visitor.visitor_id
        )
        history: list[dict[str, Any]] = []
        suggestions: list[str] = []
        if found is None:
            # A new visitor sees a greeting with questions the assistant can answer.
            suggestions = await suggested_questions(
                self.state.services.db, self.widget.organization_id
            )
        else:
            # Follow first, then read: an event in between arrives twice (the widget drops
            # repeats by message id) rather than not at all.
            await self._follow(found.id)
            history = await store.history(self.state.services.db, found.id)
        await self.send(
            {
                "type": "welcome",
                "token": self.visitor.token,
                "visitor_id": self.visitor.visitor_id,
                "organization": self.widget.name,
                "state": found.state if found is not None else State.AI.value,
                "agent_name": found.agent_name if found is not None else None,
                "max_message_chars": self.settings.widget_max_message_chars,
                "history": history,
                "suggestions": suggestions,
            }
        )
        self._start_forwarding()

    async def _identify(self) -> Visitor:
        """A new visitor, or the one the hello's token names; a bad token closes."""
        try:
            async with asyncio.timeout(HELLO_TIMEOUT_SECONDS):
                hello = await self._wait_for_hello()
        except TimeoutError:
            await self.close(
                frames.CLOSE_HELLO_TIMEOUT,
                frames.error("hello_timeout", "the widget did not say hello in time"),
            )
        if hello.token is None:
            try:
                await self.new_visitors.hit(self.widget.organization_id, self._address())
            except RateLimited as exc:
                await self.close(frames.CLOSE_TOO_MANY_NEW, frames.error(exc.code, exc.message))
            return self.tokens.issue(self.widget.organization_id)
        try:
            return self.tokens.verify(hello.token, self.widget.organization_id)
        except NotAuthenticated as exc:
            await self.close(frames.CLOSE_BAD_TOKEN, frames.error(exc.code, exc.message))

    def _address(self) -> str:
        """The visitor's network address: the peer's, or behind a trusted proxy the one it
        appended last to X-Forwarded-For (earlier entries are the client's own say)."""
        if self.settings.trust_forwarded_headers:
            forwarded = self.ws.headers.get("X-Forwarded-For", "")
            last = forwarded.rsplit(",", 1)[-1].strip()
            if last:
                return last
        return self.ws.remote_addr or "unknown"

    async def _wait_for_hello(self) -> frames.Hello:
        while True:
            frame = await self._receive()
            if isinstance(frame, frames.Hello):
                return frame
            if frame is not None:
                await self.send(frames.error("bad_frame", "the first frame must be a hello"))

    # --- client frames ---------------------------------------------------------------------

    async def _receive(self) -> frames.ClientFrame | None:
        """The next client frame; None after a malformed one (already answered)."""
        raw = await self.ws.receive()
        if frames.frame_size(raw) > frames.MAX_FRAME_BYTES:
            await self.close(
                frames.CLOSE_TOO_LARGE,
                frames.error(
                    "frame_too_large", f"frames may be at most {frames.MAX_FRAME_BYTES} bytes"
                ),
            )
        try:
            return frames.parse_frame(raw)
        except frames.BadFrame as exc:
            await self.send(frames.error("bad_frame", exc.message))
            return None

    async def _handle(self, frame: frames.ClientFrame | None) -> None:
        if frame is None:
            return
        if isinstance(frame, frames.ChatMessage):
            try:
                await self._on_message(frame)
            except SwitchboardError as exc:
                await self.send(frames.error(exc.code, exc.message, frame_id=frame.id))
            except Exception:
                log.exception("a widget message failed")
                await self.send(
                    frames.error(
                        "server_error",
                        "something went wrong on our side; please try again",
                        frame_id=frame.id,
                    )
                )
        elif isinstance(frame, frames.Typing):
            await self._on_typing()
        elif isinstance(frame, frames.Ping):
            await self.send({"type": "pong"})
        else:
            await self.send(frames.error("bad_frame", "hello was already said"))

    async def _on_message(self, frame: frames.ChatMessage) -> None:
        assert self.visitor is not None
        limit = self.settings.widget_max_message_chars
        if len(frame.text) > limit:
            await self.send(
                frames.error(
                    "message_too_long",
                    f"a message may hold at most {limit} characters",
                    frame_id=frame.id,
                )
            )
            return
        organization_id = self.widget.organization_id
        (inbound,) = self.channel.parse(
            organization_id,
            {
                "visitor_id": self.visitor.visitor_id,
                "id": frame.id,
                "text": frame.text,
                "page": frame.page,
            },
        )
        try:
            await self.rate_limit.hit(organization_id, self.visitor.visitor_id)
        except RateLimited:
            # A resend of a message we already have is acknowledged, not refused.
            stored = await store.stored_message_id(
                self.state.services.db, organization_id, inbound.provider_message_id
            )
            if stored is None:
                raise
            await self.send(frames.ack(frame.id, stored, duplicate=True))
            return
        received = await self.state.intake.receive(inbound)
        await self.send(frames.ack(frame.id, received.message_id, received.duplicate))
        if self.conversation_id is None:
            await self._follow(received.conversation_id)
            for entry in await store.history(self.state.services.db, received.conversation_id):
                await self.send(frames.message(entry))
            self._start_forwarding()

    async def _on_typing(self) -> None:
        now = time.monotonic()
        if self.conversation_id is None or now - self._last_typing < TYPING_INTERVAL_SECONDS:
            return
        self._last_typing = now
        await self.state.services.events.publish(
            Event(
                "typing",
                self.widget.organization_id,
                self.conversation_id,
                {"author": "customer"},
            )
        )

    # --- live events -----------------------------------------------------------------------

    async def _follow(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self._events = await self._subscriptions.enter_async_context(
            self.state.hub.subscribe(conversation_channel(conversation_id))
        )

    def _start_forwarding(self) -> None:
        if self._events is not None and self._forwarder is None:
            self._forwarder = asyncio.create_task(self._forward(self._events))

    async def _forward(self, events: asyncio.Queue[Event]) -> None:
        while True:
            event = await events.get()
            try:
                frame = await self._frame_for(event)
                if frame is not None:
                    await self.send(frame)
            except Exception:
                log.exception("could not forward a %s event to a widget", event.type)

    async def _frame_for(self, event: Event) -> dict[str, Any] | None:
        if event.organization_id != self.widget.organization_id:
            return None
        data = event.data
        if event.type == "message":
            return frames.message(data)
        if event.type == "state":
            value = str(data.get("state"))
            name = None
            if value in HUMAN_STATES:
                name = await store.agent_name(
                    self.state.services.db, event.organization_id, data.get("assigned_agent_id")
                )
            return frames.state(value, name)
        if event.type == "typing" and data.get("author") in FORWARDED_TYPING:
            return frames.typing(str(data["author"]), data.get("author_name"))
        return None
