"""Queue views at scale: the Waiting list (first page, and a page deep into it by cursor),
the All and Needs attention lists (1 % of conversations flagged), the conversation view,
the badge counts and a search (in every view), through the app's own HTTP handlers
(`create_app` in process, the ASGI test client, a logged-in agent, a real Redis and a
migrated database), with 10,000 and then 100,000 conversations in the database. The
baseline is `GET /api/me` in the same run: the same session check, JSON and dispatch with
one primary-key read, so each ratio is what the view's own queries cost on top. The modes
alternate in rounds; the figures for both sizes come from the same run.

    .venv/bin/python -m bench.queue_views [--sizes 10000,100000] [--requests 200]
    .venv/bin/python -m bench.queue_views --postgres
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from quart.typing import TestClientProtocol

from bench.queue_seed import seed_conversations
from bench.support import (
    TIMES,
    Run,
    add_database_options,
    bench_servers,
    combine,
    new_parser,
    print_table,
    run,
)
from gateway.auth import COOKIE, open_session
from gateway.db import Database
from gateway.models import Agent, Team
from gateway.organizations import create_organization
from gateway.passwords import hash_password
from gateway.settings import Settings
from server.app import create_app

Request = Callable[[int], Awaitable[None]]
BASELINE = "baseline: GET /api/me"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    add_database_options(parser)
    parser.add_argument("--sizes", default="10000,100000", help="conversation counts, ascending")
    parser.add_argument("--requests", type=int, default=200, help="requests per mode and size")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=20)
    return parser.parse_args(argv)


async def organization(db: Database) -> tuple[int, list[Agent]]:
    org = await create_organization(db, "bench", "Bench Outfitters")
    async with db.transaction() as session:
        session.add_all(Team(organization_id=org.id, name=n) for n in ("Billing", "Shipping"))
        agents = [
            Agent(
                organization_id=org.id,
                name=f"Agent {n}",
                email=f"agent{n}@bench.test",
                password_hash=hash_password("bench password"),
                role="admin" if n == 0 else "agent",
            )
            for n in range(5)
        ]
        session.add_all(agents)
    return org.id, agents


async def timed(mode: str, request: Request, count: int) -> Run:
    latencies = []
    started = time.perf_counter()
    for index in range(count):
        begun = time.perf_counter()
        await request(index)
        latencies.append(time.perf_counter() - begun)
    return Run(mode, latencies, time.perf_counter() - started)


def checked(client: TestClientProtocol) -> Callable[[str], Awaitable[None]]:
    async def get(path: str) -> None:
        response = await client.get(path)
        if response.status_code != 200:
            body = await response.get_data(as_text=True)
            raise RuntimeError(f"GET {path} answered {response.status_code}: {body}")
        await response.get_data()

    return get


async def deep_cursor(client: TestClientProtocol, pages: int) -> str | None:
    cursor = None
    for _ in range(pages):
        path = "/api/queue/waiting" + (f"?cursor={cursor}" if cursor else "")
        cursor = (await (await client.get(path)).get_json())["next_cursor"]
        if cursor is None:
            break
    return cursor


async def measure_size(
    client: TestClientProtocol, size: int, waiting: list[int], args: argparse.Namespace
) -> list[Run]:
    get = checked(client)
    rng = random.Random(size)
    cursor = await deep_cursor(client, 10)
    modes: dict[str, tuple[Request, int]] = {
        BASELINE: (lambda i: get("/api/me"), args.requests),
        "Waiting, first page (50)": (lambda i: get("/api/queue/waiting"), args.requests),
        "conversation view": (
            lambda i: get(f"/api/conversations/{rng.choice(waiting)}"),
            args.requests,
        ),
        "All, first page (50)": (lambda i: get("/api/queue/all"), args.requests),
        "Needs attention, first page": (
            lambda i: get("/api/queue/needs_attention"),
            args.requests,
        ),
        "badge counts (all views)": (lambda i: get("/api/queue/counts"), args.requests),
        "search by customer name": (
            lambda i: get(f"/api/queue/all?q=Hopper+{rng.randrange(1, size)}"),
            args.requests,
        ),
    }
    if cursor:
        modes["Waiting, page 11 by cursor"] = (
            lambda i: get(f"/api/queue/waiting?cursor={cursor}"),
            args.requests,
        )
    for request, _ in modes.values():
        for index in range(args.warmup):
            await request(index)
    rounds: dict[str, list[Run]] = {mode: [] for mode in modes}
    for _ in range(args.rounds):
        for mode, (request, count) in modes.items():
            rounds[mode].append(await timed(mode, request, max(count // args.rounds, 1)))
    return [combine(found) for found in rounds.values()]


async def benchmark(args: argparse.Namespace, workdir: Path) -> None:
    sizes = [int(size) for size in args.sizes.split(",")]
    async with bench_servers(args, workdir) as (redis_url, database):
        db = Database(database.url)
        try:
            organization_id, agents = await organization(db)
            settings = Settings(
                database_url=database.url,
                redis_url=redis_url,
                secret_key="bench",
                var_dir=workdir,
                log_level="WARNING",
            )
            app = create_app(settings)
            results: list[tuple[int, list[Run]]] = []
            async with app.test_app() as running:
                client = running.test_client()
                token, _ = await open_session(db, agents[0])
                client.set_cookie("localhost", COOKIE, token)
                seeded, waiting = 0, []
                for size in sizes:
                    started = time.perf_counter()
                    waiting += await seed_conversations(
                        db, organization_id, size - seeded, [a.id for a in agents]
                    )
                    seeded = size
                    took = time.perf_counter() - started
                    print(
                        f"{database.label}: {size:,} conversations "
                        f"({len(waiting):,} waiting) seeded in {took:.1f} s"
                    )
                    results.append((size, await measure_size(client, size, waiting, args)))
        finally:
            await db.dispose()
    for size, runs in results:
        print(f"\n{database.label}, {size:,} conversations")
        print_table(runs, count_label="requests")
        base = runs[0].p50_ms
        for view in runs[1:]:
            print(
                f"{view.mode} = {view.p50_ms / base:.2f} {TIMES} {BASELINE.split(': ')[1]} (p50; "
                f"{view.p50_ms:.1f} ms vs {base:.1f} ms; p99 {view.p99_ms:.1f} ms)"
            )


if __name__ == "__main__":
    run(benchmark, parse_args())
