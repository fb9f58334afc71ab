"""Widget round trip: the time from a visitor's `message` frame to the gateway's `ack` frame
over a real WebSocket, against a running gateway (hypercorn serving `server.asgi:app`, a
real Redis, a migrated database). The ack means the message was checked, rate-limited,
stored and its routing job enqueued. The baseline is a bare WebSocket echo app
(`bench.echo_app`) served by the same hypercorn command in the same run, so the ratio is
what the gateway adds on top of the server, the framing and loopback. Both servers run at
once and the two modes alternate in rounds over sockets opened (and warmed up) beforehand.

With `--ai-replies N` (default 20; 0 skips it) a worker process is started afterwards and
one visitor asks N questions one after another: that reports the time until the AI's reply
frame arrives, in absolute terms and as a multiple of the ack.

    .venv/bin/python -m bench.widget_round_trip [--messages 1000] [--clients 4]
    .venv/bin/python -m bench.widget_round_trip --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.processes import gateway_env, hypercorn, wait_healthy, worker
from bench.services import settle
from bench.support import (
    Run,
    add_database_options,
    bench_servers,
    combine,
    latency_ratio,
    new_parser,
    print_report,
    round_sizes,
    run,
)
from gateway.db import Database
from gateway.organizations import create_organization
from handoff.ai.knowledge import demo_knowledge_paths, load_knowledge

Frame = dict[str, Any]
Match = Callable[[Frame], bool]

FRAME_TIMEOUT = 30.0
QUESTIONS = (
    "What are your opening hours?",
    "How much does shipping cost?",
    "Do you ship to Switzerland?",
    "How can I track my order?",
    "How do I return something?",  # a cancellation would be handed to a person
)


async def seed(database_url: str) -> str:
    """An organization with the demo knowledge base; returns its widget key."""
    db = Database(database_url, pooled=False)
    try:
        org = await create_organization(db, "bench", "Bench Outfitters")
        await load_knowledge(db, org.id, demo_knowledge_paths())
    finally:
        await db.dispose()
    return org.widget_key


# --- the client ----------------------------------------------------------------------------


async def next_frame(ws: aiohttp.ClientWebSocketResponse, match: Match, timeout: float) -> Frame:
    """The next frame `match` accepts, skipping others; an error frame or a closed socket
    ends the benchmark with what the server said."""
    async with asyncio.timeout(timeout):
        while True:
            received = await ws.receive()
            if received.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"the socket closed: {received.type.name} {received.data!r}")
            frame: Frame = json.loads(received.data)
            if frame.get("type") == "error":
                raise RuntimeError(f"the gateway answered an error frame: {frame}")
            if match(frame):
                return frame


async def open_widget(
    stack: contextlib.AsyncExitStack, session: aiohttp.ClientSession, port: int, key: str
) -> Client:
    """A new visitor's socket, past hello → welcome; the Origin is the gateway's own."""
    url = f"ws://127.0.0.1:{port}/widget/ws?key={key}"
    ws = await stack.enter_async_context(session.ws_connect(url, origin=f"http://127.0.0.1:{port}"))
    await ws.send_json({"type": "hello", "token": None})
    await next_frame(ws, lambda frame: frame.get("type") == "welcome", FRAME_TIMEOUT)
    return Client(ws, is_ack)


async def open_echo(
    stack: contextlib.AsyncExitStack, session: aiohttp.ClientSession, port: int
) -> Client:
    url = f"ws://127.0.0.1:{port}/ws"
    ws = await stack.enter_async_context(session.ws_connect(url, origin=f"http://127.0.0.1:{port}"))
    return Client(ws, is_echo)


def is_ack(frame_id: str) -> Match:
    return lambda frame: frame.get("type") == "ack" and frame.get("id") == frame_id


def is_echo(frame_id: str) -> Match:
    return lambda frame: frame.get("id") == frame_id


def is_ai_reply(frame: Frame) -> bool:
    return frame.get("type") == "message" and frame.get("author") == "ai"


@dataclass
class Client:
    """One open socket and how to recognize the answer to a message frame on it."""

    ws: aiohttp.ClientWebSocketResponse
    answer: Callable[[str], Match]
    sent: int = 0

    async def round_trip(self) -> float:
        """Send one message frame; seconds until its answer arrived."""
        frame_id = f"m{self.sent}"
        text = QUESTIONS[self.sent % len(QUESTIONS)]
        self.sent += 1
        started = time.perf_counter()
        await self.ws.send_str(json.dumps({"type": "message", "id": frame_id, "text": text}))
        await next_frame(self.ws, self.answer(frame_id), FRAME_TIMEOUT)
        return time.perf_counter() - started


async def measure(mode: str, clients: Sequence[Client], messages: int) -> Run:
    """All clients at once, each sending its share of `messages` one after another (the
    next once the previous was answered)."""
    latencies: list[float] = []

    async def send(client: Client, share: int) -> None:
        for _ in range(share):
            latencies.append(await client.round_trip())

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for client, share in zip(clients, round_sizes(messages, len(clients)), strict=True):
            group.create_task(send(client, share))
    return Run(mode, latencies, time.perf_counter() - started)


async def ack_round_trips(
    args: argparse.Namespace, label: str, echo_port: int, gateway_port: int, key: str
) -> tuple[Run, Run]:
    """(echo, widget ack) latencies: every client's socket warmed up first, then the two
    modes alternate in rounds, so both see the same background load."""
    echo_rounds: list[Run] = []
    widget_rounds: list[Run] = []
    async with aiohttp.ClientSession() as session, contextlib.AsyncExitStack() as stack:
        echoes = [await open_echo(stack, session, echo_port) for _ in range(args.clients)]
        widgets = [
            await open_widget(stack, session, gateway_port, key) for _ in range(args.clients)
        ]
        await measure("warm-up", echoes, args.warmup * args.clients)
        await measure("warm-up", widgets, args.warmup * args.clients)
        for size in round_sizes(args.messages, args.rounds):
            echo_rounds.append(await measure("bare WebSocket echo", echoes, size))
            widget_rounds.append(await measure(f"widget ack ({label})", widgets, size))
    return combine(echo_rounds), combine(widget_rounds)


async def ai_round_trips(
    label: str, port: int, key: str, *, questions: int, warmup: int
) -> tuple[Run, Run]:
    """One new visitor asks `questions` questions in turn, each once the AI has answered
    the previous one; returns (ack, AI reply) latencies, both counted from the send."""
    acks: list[float] = []
    replies: list[float] = []
    async with aiohttp.ClientSession() as session, contextlib.AsyncExitStack() as stack:
        client = await open_widget(stack, session, port, key)
        started_all = time.perf_counter()
        for number in range(warmup + questions):
            started = time.perf_counter()
            await client.round_trip()
            acked = time.perf_counter()
            # The first reply also waits for the worker to start and import the handoff jobs.
            await next_frame(
                client.ws, is_ai_reply, 4 * FRAME_TIMEOUT if number == 0 else FRAME_TIMEOUT
            )
            replied = time.perf_counter()
            if number == warmup - 1:
                started_all = replied
            if number >= warmup:
                acks.append(acked - started)
                replies.append(replied - started)
        seconds = time.perf_counter() - started_all
    return (
        Run(f"widget ack, worker on ({label})", acks, seconds),
        Run("AI reply frame", replies, seconds),
    )


# --- the run -------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    ai: tuple[Run, Run] | None = None
    async with bench_servers(args, workdir) as (redis_url, database):
        key = await seed(database.url)
        env = gateway_env(database.url, redis_url, workdir / "var")
        gateway_log = workdir / "gateway.log"
        with (
            hypercorn("bench.echo_app:app", env, workdir / "echo.log") as echo_port,
            hypercorn("server.asgi:app", env, gateway_log) as gateway_port,
        ):
            await wait_healthy(gateway_port, gateway_log)
            echo, widget = await ack_round_trips(args, database.label, echo_port, gateway_port, key)
            if args.ai_replies:
                await settle(database.url, redis_url)
                with worker(env, workdir / "worker.log"):
                    ai = await ai_round_trips(
                        database.label, gateway_port, key, questions=args.ai_replies, warmup=3
                    )
    print_report(
        f"{args.messages} messages per mode from {args.clients} concurrent sockets "
        f"(each waits for the answer before sending again), {args.rounds} alternating rounds, "
        f"hypercorn with one worker, {database.label}, real Redis",
        [echo, widget],
        f"widget ack round trip = {latency_ratio(widget, echo, 'bare WebSocket echo', 1)}",
    )
    if ai is not None:
        ack, reply = ai
        print_report(
            f"{args.ai_replies} questions from one visitor, one at a time, worker running",
            [ack, reply],
            f"AI reply frame: p50 {reply.p50_ms:.0f} ms, p99 {reply.p99_ms:.0f} ms after "
            f"sending = {latency_ratio(reply, ack, 'the ack', 1)}",
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--messages", type=int, default=1000, help="measured messages per mode")
    parser.add_argument("--clients", type=int, default=4, help="concurrent sockets")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured messages per socket")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the two modes")
    parser.add_argument(
        "--ai-replies", type=int, default=20, help="questions for the AI reply figure (0: skip)"
    )
    add_database_options(parser)
    args = parser.parse_args(argv)
    if min(args.clients, args.rounds) < 1 or min(args.warmup, args.ai_replies) < 0:
        parser.error("need --clients and --rounds of at least 1, and no negative counts")
    if args.messages < args.rounds:
        parser.error("--messages must be at least --rounds")
    return args


if __name__ == "__main__":
    run(benchmark, parse_args())
