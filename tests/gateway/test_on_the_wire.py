"""A task started inside `on_the_wire.watching()` sets its future once its request is on
the network: from then on the code that started it may hold the event loop (as a
transaction's statements on SQLite do) and the request still reaches the server."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from gateway import on_the_wire
from tests.support.fake_llm import PATH, FakeLLM


async def _ask(http: aiohttp.ClientSession, base_url: str) -> int:
    async with http.post(base_url.rstrip("/") + "/chat/completions", json={"model": "m"}) as r:
        await r.read()
        return r.status


def _received_within(llm: FakeLLM, count: int, seconds: float) -> int:
    """How many requests the server received (waiting for `count`) while this thread
    blocks the event loop."""
    deadline = time.monotonic() + seconds
    while len(llm.received()) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    return len(llm.received())


async def test_the_future_is_set_once_the_request_has_left() -> None:
    with FakeLLM() as llm:
        llm.answer_text("Hello.").answer_text("Hello again.")
        async with aiohttp.ClientSession(trace_configs=[on_the_wire.TRACE]) as http:
            assert await _ask(http, llm.base_url) == 200  # the connection is kept from here
            with on_the_wire.watching() as asked:
                asking = asyncio.ensure_future(_ask(http, llm.base_url))
            async with asyncio.timeout(5):  # awaited directly: no extra turn of the loop
                await asked
            # the event loop gets no turn from here until the server has the request
            assert _received_within(llm, 2, seconds=5) == 2
            assert await asking == 200
    assert [request.path for request in llm.received()] == [PATH, PATH]


async def test_opening_a_connection_counts_as_waiting_on_the_network() -> None:
    with FakeLLM() as llm:
        llm.answer_text("Hello.")
        async with aiohttp.ClientSession(trace_configs=[on_the_wire.TRACE]) as http:
            with on_the_wire.watching() as asked:
                asking = asyncio.ensure_future(_ask(http, llm.base_url))
            await asyncio.wait_for(asked, timeout=5)
            assert not asking.done()
            assert await asking == 200


async def test_a_request_started_outside_the_block_sets_nothing() -> None:
    with FakeLLM() as llm:
        llm.answer_text("Hello.")
        async with aiohttp.ClientSession(trace_configs=[on_the_wire.TRACE]) as http:
            with on_the_wire.watching() as asked:
                pass
            assert await _ask(http, llm.base_url) == 200
    assert not asked.done()
