"""Live events over Redis pub/sub, so any number of gateway processes serve the same agents
and widgets. Each event goes to the organization's channel (agents' pages) and, when it
concerns one conversation, to that conversation's channel (the customer's widget).
A process holds one subscriber connection (`EventHub`) and fans messages out to local
queues, however many sockets it serves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT_SECONDS = 10.0


def org_channel(organization_id: int) -> str:
    return f"switchboard:org:{organization_id}"


def conversation_channel(conversation_id: int) -> str:
    return f"switchboard:conversation:{conversation_id}"


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # message | state | typing | presence | notice | delivery
    organization_id: int
    conversation_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "type": self.type,
                "organization_id": self.organization_id,
                "conversation_id": self.conversation_id,
                "data": self.data,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Event:
        body = json.loads(raw)
        return cls(body["type"], body["organization_id"], body["conversation_id"], body["data"])


class EventPublisher:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, event: Event) -> int:
        """Publish; returns how many subscribers of the conversation got it."""
        async with self.redis.pipeline(transaction=False) as pipe:
            _publish(pipe, event)
            counts = await pipe.execute()
        return int(counts[-1]) if event.conversation_id is not None else int(counts[0])

    async def publish_many(self, events: Sequence[Event]) -> None:
        """Publish several events, in order, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in events:
                _publish(pipe, event)
            await pipe.execute()


def _publish(pipe: Pipeline, event: Event) -> None:
    payload = event.to_json()
    pipe.publish(org_channel(event.organization_id), payload)
    if event.conversation_id is not None:
        pipe.publish(conversation_channel(event.conversation_id), payload)


class EventHub:
    """One pub/sub connection per process, fanned out to any number of local listeners.

    `subscribe` returns only once Redis has confirmed the subscription, so every event
    published after it returns reaches the listener: a socket that says hello after
    subscribing, and a page that reloads its lists on that hello, miss nothing."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._pubsub = redis.pubsub()
        self._listeners: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._confirmed: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=1000)
        async with self._lock:
            fresh = [name for name in channels if not self._listeners[name]]
            for name in channels:
                self._listeners[name].add(queue)
            try:
                await self._subscribe(fresh)
            except BaseException:
                self._drop(queue, channels)
                raise
        try:
            yield queue
        finally:
            async with self._lock:
                gone = self._drop(queue, channels)
                if gone:
                    await self._pubsub.unsubscribe(*gone)

    async def _subscribe(self, fresh: list[str]) -> None:
        """Subscribe to `fresh` and wait until Redis confirms (the reader sees it)."""
        waits = {name: self._confirmed.setdefault(name, asyncio.Event()) for name in fresh}
        for wait in waits.values():
            wait.clear()
        if fresh:
            await self._pubsub.subscribe(*fresh)
        if self._reader is None or self._reader.done():  # it reads the confirmations too
            self._reader = asyncio.create_task(self._read())
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                for wait in waits.values():
                    await wait.wait()
        except TimeoutError:
            raise RedisTimeoutError("Redis did not confirm a subscription in time") from None

    def _drop(self, queue: asyncio.Queue[Event], channels: tuple[str, ...]) -> list[str]:
        """Remove `queue`; returns the channels no one listens to any more."""
        gone = []
        for name in channels:
            self._listeners[name].discard(queue)
            if not self._listeners[name]:
                del self._listeners[name]
                self._confirmed.pop(name, None)
                gone.append(name)
        return gone

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event subscription failed; reconnecting")
                await asyncio.sleep(0.5)
                continue
            if message is None:
                if not self._listeners:
                    await asyncio.sleep(0.05)
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            if message["type"] == "subscribe":
                confirmed = self._confirmed.get(channel)
                if confirmed is not None:
                    confirmed.set()
                continue
            if message["type"] != "message":
                continue
            try:
                event = Event.from_json(message["data"])
            except (ValueError, KeyError):
                log.warning("ignored a malformed event on %s", channel)
                continue
            for queue in list(self._listeners.get(channel, ())):
                if queue.full():
                    log.warning("a listener on %s is too slow; dropping an event", channel)
                    continue
                queue.put_nowait(event)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
