"""Knowing when work started in a task is waiting on the network, so the code that started
it can hold the event loop again. A caller's turn starts the model's request and then
stores the message; on SQLite those statements run in the event loop's thread without
giving it a turn, and on Python 3.11 aiohttp writes a request's body in a task of its own,
so without waiting for it the request would leave only after the message was stored.

`Services.http()` sends its requests through `TRACE`. Work started inside `watching()`
sets the future it yields when a request of its sends a chunk of its body, opens a
connection or queues for one: from then on it waits on the network."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import aiohttp

_WAITING: ContextVar[asyncio.Future[None] | None] = ContextVar(
    "switchboard_waiting_on_the_network", default=None
)


async def _on_the_network(_session: aiohttp.ClientSession, _ctx: SimpleNamespace, _: Any) -> None:
    waiting = _WAITING.get()
    if waiting is not None and not waiting.done():
        waiting.set_result(None)


TRACE = aiohttp.TraceConfig()
TRACE.on_request_chunk_sent.append(_on_the_network)
TRACE.on_connection_create_start.append(_on_the_network)
TRACE.on_connection_queued_start.append(_on_the_network)


@contextmanager
def watching() -> Iterator[asyncio.Future[None]]:
    """A future set once a task created inside the block waits on the network through
    `Services.http()` (tasks copy the context they are created in)."""
    waiting: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    token = _WAITING.set(waiting)
    try:
        yield waiting
    finally:
        _WAITING.reset(token)
