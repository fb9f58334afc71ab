"""Live-event delivery to 200 agents' sockets: the time from publishing an organization's
event (`EventPublisher.publish`, as every action does) until it arrives on each of 200 open
`WEBSOCKET /api/live` connections of a running gateway (hypercorn serving
`server.asgi:app`, one worker, a real Redis, a migrated database, 200 logged-in agents).
The event crosses Redis pub/sub into the gateway's one subscription (`EventHub`), fans out
to 200 socket tasks, and travels over 200 WebSockets.

The baseline, in the same run, is Redis pub/sub alone: the same payload published to a
channel that 200 plain Redis subscriber connections in the benchmark process listen on, so
the ratio is what the gateway adds on top of Redis's own fan-out and the client's reading.
Each event is sent once the previous one reached every listener; the modes alternate in
rounds. Printed: p50 and p99 over all deliveries, and the p50 of the slowest listener.

    .venv/bin/python -m bench.live_events [--sockets 200] [--events 100]
    .venv/bin/python -m bench.live_events --postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from redis.asyncio import Redis as AsyncRedis
from sqlalchemy import insert, select

from bench.processes import gateway_env, hypercorn
from bench.support import (
    TIMES,
    Run,
    add_database_options,
    bench_servers,
    combine,
    new_parser,
    percentile,
    print_table,
    run,
)
from gateway.auth import COOKIE, open_session
from gateway.db import Database
from gateway.events import Event, EventPublisher
from gateway.models import Agent
from gateway.organizations import create_organization
from gateway.passwords import hash_password

BASELINE_CHANNEL = "bench:baseline"
TIMEOUT = 30.0
Arrivals = dict[int, list[float]]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    add_database_options(parser)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--events", type=int, default=100, help="events per mode")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=10)
    return parser.parse_args(argv)


async def seed(database_url: str, count: int) -> tuple[int, list[str]]:
    """An organization with `count` agents, each logged in; their session tokens."""
    db = Database(database_url, pooled=False)
    try:
        org = await create_organization(db, "bench", "Bench Outfitters")
        password = hash_password("bench password")
        async with db.transaction() as session:
            await session.execute(
                insert(Agent),
                [
                    {
                        "organization_id": org.id,
                        "name": f"Agent {n}",
                        "email": f"agent{n}@bench.test",
                        "password_hash": password,
                        "role": "agent",
                        "active": True,
                        "time_zone": "UTC",
                    }
                    for n in range(count)
                ],
            )
        async with db.transaction() as session:
            agents = list(
                await session.scalars(select(Agent).where(Agent.organization_id == org.id))
            )
        tokens = [(await open_session(db, agent))[0] for agent in agents]
        return org.id, tokens
    finally:
        await db.dispose()


class Listeners:
    """Where arrivals are recorded: per event number, the arrival times."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.arrivals: Arrivals = {}
        self.waiters: dict[int, asyncio.Event] = {}

    def expect(self, number: int) -> asyncio.Event:
        self.arrivals[number] = []
        self.waiters[number] = asyncio.Event()
        return self.waiters[number]

    def arrived(self, number: int) -> None:
        found = self.arrivals.get(number)
        if found is None:
            return
        found.append(time.perf_counter())
        if len(found) == self.count:
            self.waiters[number].set()


async def read_socket(ws: aiohttp.ClientWebSocketResponse, listeners: Listeners) -> None:
    async for received in ws:
        if received.type != aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(received.data)
        if frame.get("type") == "bench":
            listeners.arrived(int(frame["data"]["n"]))


async def read_redis(redis: AsyncRedis, ready: asyncio.Event, listeners: Listeners) -> None:
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(BASELINE_CHANNEL)
        ready.set()
        async for message in pubsub.listen():
            if message["type"] == "message":
                listeners.arrived(int(json.loads(message["data"])["data"]["n"]))


async def measure(
    mode: str,
    publish: Callable[[int], Awaitable[object]],
    listeners: Listeners,
    first: int,
    events: int,
) -> tuple[Run, list[float]]:
    """`events` events one after another; every delivery's latency, and each event's
    slowest delivery."""
    latencies: list[float] = []
    slowest: list[float] = []
    started = time.perf_counter()
    for number in range(first, first + events):
        done = listeners.expect(number)
        sent = time.perf_counter()
        await publish(number)
        await asyncio.wait_for(done.wait(), TIMEOUT)
        times = [arrival - sent for arrival in listeners.arrivals.pop(number)]
        latencies += times
        slowest.append(max(times))
    return Run(mode, latencies, time.perf_counter() - started), slowest


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    async with (
        bench_servers(args, workdir) as (redis_url, database),
        contextlib.AsyncExitStack() as stack,
    ):
        organization_id, tokens = await seed(database.url, args.sockets)
        env = gateway_env(database.url, redis_url, workdir / "gateway")
        (workdir / "gateway").mkdir()
        with hypercorn("server.asgi:app", env, workdir / "gateway.log") as port:
            await run_modes(args, stack, port, tokens, organization_id, redis_url)


async def run_modes(
    args: argparse.Namespace,
    stack: contextlib.AsyncExitStack,
    port: int,
    tokens: list[str],
    organization_id: int,
    redis_url: str,
) -> None:
    sockets, baseline = Listeners(args.sockets), Listeners(args.sockets)
    http = await stack.enter_async_context(
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # 200 sockets at once
    )
    readers: list[asyncio.Task[None]] = []
    for token in tokens:
        ws = await stack.enter_async_context(
            http.ws_connect(
                f"ws://127.0.0.1:{port}/api/live",
                origin=f"http://127.0.0.1:{port}",
                headers={"Cookie": f"{COOKIE}={token}"},
                heartbeat=None,
            )
        )
        hello = json.loads((await ws.receive(TIMEOUT)).data)
        if hello.get("type") != "hello":
            raise RuntimeError(f"the live socket answered {hello}")
        readers.append(asyncio.create_task(read_socket(ws, sockets)))
    clients = [AsyncRedis.from_url(redis_url) for _ in range(args.sockets)]
    for client in clients:
        stack.push_async_callback(client.aclose)
        ready = asyncio.Event()
        readers.append(asyncio.create_task(read_redis(client, ready, baseline)))
        await ready.wait()
    publisher = AsyncRedis.from_url(redis_url)
    stack.push_async_callback(publisher.aclose)
    events = EventPublisher(publisher)

    async def to_sockets(number: int) -> None:
        await events.publish(Event("bench", organization_id, None, {"n": number}))

    async def to_redis(number: int) -> None:
        payload = Event("bench", organization_id, None, {"n": number}).to_json()
        await publisher.publish(BASELINE_CHANNEL, payload)

    modes = {
        "baseline: Redis pub/sub alone": (to_redis, baseline),
        f"live event to {args.sockets} sockets": (to_sockets, sockets),
    }
    number = 0
    for publish, listeners in modes.values():  # warm-up
        await measure("warmup", publish, listeners, number, args.warmup)
        number += args.warmup
    results: dict[str, list[tuple[Run, list[float]]]] = {mode: [] for mode in modes}
    per_round = max(args.events // args.rounds, 1)
    for _ in range(args.rounds):
        for mode, (publish, listeners) in modes.items():
            results[mode].append(await measure(mode, publish, listeners, number, per_round))
            number += per_round
    for task in readers:
        task.cancel()
    runs = [combine([run for run, _ in found]) for found in results.values()]
    slowest = [[s for _, found in rounds for s in found] for rounds in results.values()]
    print(f"{args.sockets} listeners, {per_round * args.rounds} events per mode")
    print_table(runs, count_label="delivered")
    base, live = runs
    base_last = percentile(slowest[0], 0.5) * 1000
    live_last = percentile(slowest[1], 0.5) * 1000
    print(f"slowest listener p50: baseline {base_last:.2f} ms, sockets {live_last:.2f} ms")
    print(
        f"live event delivery = {live.p50_ms / base.p50_ms:.2f} {TIMES} Redis pub/sub alone "
        f"(p50; {live.p50_ms:.2f} ms vs {base.p50_ms:.2f} ms), "
        f"{live.p99_ms / base.p99_ms:.2f} {TIMES} (p99; {live.p99_ms:.2f} ms), "
        f"{live_last / base_last:.2f} {TIMES} (slowest listener, p50)"
    )


if __name__ == "__main__":
    run(benchmark, parse_args())
