"""What the widget socket tests share: a running app with its database and Redis
(`Gateway`), and a visitor's side of the socket conversation (hello, say, receive)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client
from quart.typing import TestWebsocketConnectionProtocol as Socket
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import func, select

from gateway.db import Database
from gateway.events import Event, EventPublisher
from gateway.models import Message

SECRET = "test-secret"
SAME_ORIGIN = "http://localhost"
Frame = dict[str, Any]


class Gateway:
    """A running app (startup done) and what the tests need around it."""

    def __init__(self, client: Client, db: Database, redis_url: str) -> None:
        self.client = client
        self.db = db
        self.redis_url = redis_url

    def socket(self, key: str, origin: str | None = SAME_ORIGIN) -> Socket:
        headers = {} if origin is None else {"Origin": origin}
        return self.client.websocket(f"/widget/ws?key={key}", headers=headers)

    async def publish(self, event: Event) -> int:
        redis = AsyncRedis.from_url(self.redis_url)
        try:
            return await EventPublisher(redis).publish(event)
        finally:
            await redis.aclose()

    async def messages(self) -> list[Message]:
        async with self.db.transaction() as session:
            return list((await session.scalars(select(Message).order_by(Message.id))).all())

    async def message_count(self) -> int:
        async with self.db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def receive(ws: Socket, timeout: float = 5.0) -> Frame:
    raw = await asyncio.wait_for(ws.receive(), timeout)
    frame: Frame = json.loads(raw)
    return frame


async def receive_until(ws: Socket, wanted: Callable[[Frame], bool]) -> tuple[Frame, list[Frame]]:
    """The first frame `wanted` accepts, and the frames that came before it."""
    skipped: list[Frame] = []
    while True:
        frame = await receive(ws)
        if wanted(frame):
            return frame, skipped
        skipped.append(frame)


async def closed_with(ws: Socket) -> int:
    with pytest.raises(WebsocketDisconnectError) as closed:
        await asyncio.wait_for(ws.receive(), 5.0)
    return int(closed.value.args[0])


async def hello(ws: Socket, token: str | None = None) -> Frame:
    await ws.send(json.dumps({"type": "hello", "token": token}))
    return await receive(ws)


async def say(ws: Socket, text: str, frame_id: str) -> Frame:
    """Send a chat message; the ack (or error) answering it."""
    await ws.send(json.dumps({"type": "message", "id": frame_id, "text": text}))
    answer, _ = await receive_until(ws, lambda f: f["type"] in ("ack", "error"))
    return answer
